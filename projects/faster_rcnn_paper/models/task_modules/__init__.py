from .assigners import LegacyBboxOverlaps2D
from .prior_generators import PaperAnchorGenerator

__all__ = ['LegacyBboxOverlaps2D', 'PaperAnchorGenerator']
