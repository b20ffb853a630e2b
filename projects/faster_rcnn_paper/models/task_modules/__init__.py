from .assigners import LegacyBboxOverlaps2D
from .coders import PaperDeltaXYWHBBoxCoder
from .prior_generators import PaperAnchorGenerator

__all__ = ['LegacyBboxOverlaps2D', 'PaperAnchorGenerator', 'PaperDeltaXYWHBBoxCoder']
