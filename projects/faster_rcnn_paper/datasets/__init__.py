"""Datasets: PASCAL VOC-format data read as py-faster-rcnn reads it, and a toy VOC-format generator."""
from .paper_voc_dataset import PaperVOCDataset
from .proposal_file import load_proposal_file, proposal_key, read_proposal_meta, save_proposal_file
from .toy_voc import TOY_CLASSES, make_toy_voc
from .transforms import PaperRandomFlip, PaperResize

__all__ = [
    'PaperVOCDataset', 'PaperRandomFlip', 'PaperResize', 'TOY_CLASSES', 'load_proposal_file', 'make_toy_voc',
    'proposal_key', 'read_proposal_meta', 'save_proposal_file'
]
