"""COCO-format data (MS COCO, §4.2, or a team's own classes in ``CocoDataset``'s json) for both of the
paper's training modes.

Approximate joint training needs nothing beyond mmdet's ``CocoDataset``. The Fast R-CNN steps of 4-step
alternating training (§3.2) read the offline proposals of the RPN steps; mmdet's ``load_proposals``
would unpickle them, :class:`OfflineProposalsMixin` reads this project's ``.npz`` proposal files
(arrays only), keyed by '<image folder>/<file name>' as for VOC. A missing json file is a
``UserFileNotFoundError`` naming it (the tools print one line) instead of pycocotools' traceback.
"""
import os.path as osp
from typing import List

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from ..utils.user_input_error import UserFileNotFoundError
from .offline_proposals_mixin import OfflineProposalsMixin


@DATASETS.register_module()
class PaperCocoDataset(OfflineProposalsMixin, CocoDataset):
    """mmdet's ``CocoDataset`` (every argument: ``ann_file``, ``data_prefix=dict(img=...)``,
    ``metainfo=dict(classes=...)``, ``filter_cfg`` ...) with ``.npz`` offline proposals."""

    def load_data_list(self) -> List[dict]:
        local = self.backend_args is None and '://' not in self.ann_file
        if local and not osp.isfile(self.ann_file):
            raise UserFileNotFoundError(f'ann_file {self.ann_file}: no such COCO json file (set the dataset\'s '
                                        'ann_file, relative to its data_root, in the config)')
        return super().load_data_list()
