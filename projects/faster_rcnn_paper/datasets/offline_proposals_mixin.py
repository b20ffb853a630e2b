"""Reading the offline proposals of 4-step alternating training (§3.2) into any mmdet dataset.

mmdet's ``BaseDetDataset.load_proposals`` unpickles ``proposal_file`` (a pickle can run code when
read). A dataset class that mixes this in reads this project's ``.npz`` proposal files instead
(``proposal_file.py``: arrays only, no pickle), keyed like mmdet's ('<image folder>/<file name>').
``AlternatingTrainingHook`` trains its Fast R-CNN steps only on datasets with this mixin:
``PaperVOCDataset`` (VOC XML), ``PaperCocoDataset`` (COCO json) and any
``class MyDataset(OfflineProposalsMixin, <mmdet dataset>)``.
"""
import os.path as osp

from ..utils.user_input_error import UserInputError
from .proposal_file import load_proposal_file, proposal_key


class OfflineProposalsMixin:
    """``load_proposals`` from an ``.npz`` proposal file; put it before the mmdet dataset class
    in the bases (``class PaperVOCDataset(OfflineProposalsMixin, VOCDataset)``)."""

    def load_proposals(self) -> None:
        """Attaches each image's precomputed proposals (``data_info['proposals']``), as mmdet's
        ``BaseDetDataset.load_proposals`` does, from an ``.npz`` proposal file (no pickle)."""
        if not osp.isabs(self.proposal_file):
            self.proposal_file = osp.join(self.data_root, self.proposal_file)
        proposals, _ = load_proposal_file(self.proposal_file)
        missing = [info['img_path'] for info in self.data_list
                   if proposal_key(info['img_path']) not in proposals]
        if missing:
            raise UserInputError(f'{self.proposal_file}: no proposals for {len(missing)} of the '
                                 f'{len(self.data_list)} images of {self.ann_file}, e.g. {missing[:3]}')
        for info in self.data_list:
            info['proposals'] = proposals[proposal_key(info['img_path'])]
