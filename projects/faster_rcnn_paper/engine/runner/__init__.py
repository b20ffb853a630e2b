from .alternating_train_loop import AlternatingTrainLoop
from .offline_proposals import generate_proposals, proposal_key
from .stage_log_processor import StageLogProcessor

__all__ = ['AlternatingTrainLoop', 'StageLogProcessor', 'generate_proposals', 'proposal_key']
