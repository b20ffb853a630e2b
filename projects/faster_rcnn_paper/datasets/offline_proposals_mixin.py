"""Reading the offline proposals of 4-step alternating training (§3.2) into any mmdet dataset.

mmdet's ``BaseDetDataset.load_proposals`` unpickles ``proposal_file`` (a pickle can run code when
read). A dataset class that mixes this in reads this project's ``.npz`` proposal files instead
(``proposal_file.py``: arrays only, no pickle, content checked), keyed like mmdet's ('<image
folder>/<file name>'), and refuses a file that lacks an image of the dataset or whose boxes leave
their image by more than :data:`MARGIN` pixels (the RPN clips its boxes to the resized image,
so a box past the border only by the rounding of the rescale is fine).
``AlternatingTrainingHook`` trains its Fast R-CNN steps only on datasets with this mixin:
``PaperVOCDataset`` (VOC XML), ``PaperCocoDataset`` (COCO json) and any
``class MyDataset(OfflineProposalsMixin, <mmdet dataset>)``.
"""
import os.path as osp

import numpy as np

from ..utils.user_input_error import UserInputError
from .proposal_file import load_proposal_file, proposal_key

MARGIN = 16  # pixels (one feature stride of the paper's networks)


def _outside(bboxes: np.ndarray, info: dict) -> np.ndarray:
    """Which of an image's boxes leave it by more than MARGIN (none when its size is unknown)."""
    width, height = info.get('width') or 0, info.get('height') or 0
    if width <= 0 or height <= 0:
        return np.zeros(len(bboxes), dtype=bool)
    return ((bboxes[:, :2] < -MARGIN).any(axis=1) | (bboxes[:, 2] > width + MARGIN)
            | (bboxes[:, 3] > height + MARGIN))


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
            boxes = proposals[proposal_key(info['img_path'])]
            outside = _outside(boxes['bboxes'], info)
            if outside.any():
                raise UserInputError(
                    f"{self.proposal_file}: {int(outside.sum())} proposals of {info['img_path']} "
                    f"({info.get('width')}x{info.get('height')}) leave the image by more than {MARGIN} "
                    f"pixels, e.g. {boxes['bboxes'][outside][0].tolist()}; regenerate the file")
            info['proposals'] = boxes
