"""Data transforms where py-faster-rcnn's arithmetic differs from mmdet's."""
from .paper_random_flip import PaperRandomFlip
from .paper_resize import PaperResize, paper_scale_factor

__all__ = ['PaperRandomFlip', 'PaperResize', 'paper_scale_factor']
