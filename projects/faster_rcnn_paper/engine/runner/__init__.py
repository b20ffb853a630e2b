from .offline_proposals import generate_proposals
from .stage_log_processor import StageLogProcessor

__all__ = ['StageLogProcessor', 'generate_proposals']
