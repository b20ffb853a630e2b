"""Datasets: PASCAL VOC-format data read as py-faster-rcnn reads it, COCO-format data with the same
offline proposals, and the transforms whose arithmetic is py-faster-rcnn's."""
from .offline_proposals_mixin import OfflineProposalsMixin
from .paper_coco_dataset import PaperCocoDataset
from .paper_voc_dataset import PaperVOCDataset
from .proposal_file import load_proposal_file, proposal_key, read_proposal_meta, save_proposal_file
from .transforms import PaperRandomFlip, PaperResize

__all__ = [
    'OfflineProposalsMixin', 'PaperCocoDataset', 'PaperVOCDataset', 'PaperRandomFlip', 'PaperResize',
    'load_proposal_file', 'proposal_key', 'read_proposal_meta', 'save_proposal_file'
]
