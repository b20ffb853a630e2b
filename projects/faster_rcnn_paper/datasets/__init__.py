"""Datasets: PASCAL VOC-format data read as py-faster-rcnn reads it, and the transforms whose
arithmetic is py-faster-rcnn's."""
from .paper_voc_dataset import PaperVOCDataset
from .transforms import PaperRandomFlip, PaperResize

__all__ = ['PaperVOCDataset', 'PaperRandomFlip', 'PaperResize']
