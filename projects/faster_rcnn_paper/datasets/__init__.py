"""Datasets: PASCAL VOC-format data read as py-faster-rcnn reads it, and a toy VOC-format generator."""
from .paper_voc_dataset import PaperVOCDataset
from .toy_voc import TOY_CLASSES, make_toy_voc
from .transforms import PaperRandomFlip, PaperResize

__all__ = ['PaperVOCDataset', 'PaperRandomFlip', 'PaperResize', 'TOY_CLASSES', 'make_toy_voc']
