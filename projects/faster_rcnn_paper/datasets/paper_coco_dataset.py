"""COCO-format data (MS COCO, §4.2, or a team's own classes in ``CocoDataset``'s json) for both of the
paper's training modes.

Approximate joint training needs nothing beyond mmdet's ``CocoDataset``. The Fast R-CNN steps of 4-step
alternating training (§3.2) read the offline proposals of the RPN steps; mmdet's ``load_proposals``
would unpickle them, :class:`OfflineProposalsMixin` reads this project's ``.npz`` proposal files
(arrays only), keyed by '<image folder>/<file name>' as for VOC.
"""
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .offline_proposals_mixin import OfflineProposalsMixin


@DATASETS.register_module()
class PaperCocoDataset(OfflineProposalsMixin, CocoDataset):
    """mmdet's ``CocoDataset`` (every argument: ``ann_file``, ``data_prefix=dict(img=...)``,
    ``metainfo=dict(classes=...)``, ``filter_cfg`` ...) with ``.npz`` offline proposals."""
