"""Datasets: PASCAL VOC-format data read as py-faster-rcnn reads it."""
from .paper_voc_dataset import PaperVOCDataset

__all__ = ['PaperVOCDataset']
