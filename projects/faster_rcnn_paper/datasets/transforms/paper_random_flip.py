"""Horizontal flip as py-faster-rcnn flips boxes (``lib/datasets/imdb.py:append_flipped_images``).

py-faster-rcnn stores 0-based inclusive boxes and flips them within the image's pixel grid:
``x1' = W - x2 - 1``, ``x2' = W - x1 - 1`` — a box touching the left border (``x1 = 0``) touches the
right one after the flip (``x2' = W - 1``). mmdet's ``RandomFlip`` uses ``W - x2`` / ``W - x1``
(exclusive corners), which puts every flipped gt box and proposal 1 px right of the flipped image
content. :class:`PaperRandomFlip` is mmdet's ``RandomFlip`` (same options, same random draw) with
py-faster-rcnn's box arithmetic, for ``gt_bboxes`` and — inside ``ProposalBroadcaster`` — for the
precomputed proposals (py-faster-rcnn flips those with the same formula).

py-faster-rcnn flips at the original scale, before the resize: the paper pipelines put this flip
before ``PaperResize`` so that the flipped boxes are ``(W - x2 - 1) * s`` as there. (Deviation, see
README: the flip is drawn online with p = 0.5 instead of a doubled, flipped copy of the dataset.)
"""
import numpy as np
from mmdet.datasets.transforms import RandomFlip
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type

# Pixels a flip shifts the (x, y) box coordinates by, on top of mmdet's exclusive-corner flip.
_INCLUSIVE_SHIFT = {'horizontal': (-1, 0), 'vertical': (0, -1), 'diagonal': (-1, -1)}


@TRANSFORMS.register_module()
class PaperRandomFlip(RandomFlip):
    """mmdet ``RandomFlip`` whose boxes flip as inclusive pixel boxes: ``x' = W - 1 - x``."""

    @autocast_box_type()
    def _flip(self, results: dict) -> None:
        super()._flip(results)
        shift = _INCLUSIVE_SHIFT.get(results['flip_direction'])
        if shift is not None and results.get('gt_bboxes', None) is not None:
            results['gt_bboxes'].translate_(shift)

    def _record_homography_matrix(self, results: dict) -> None:
        """The flip as a pixel-grid map (``x' = W - 1 - x``), so that mmdet's homography-based
        box restoring undoes exactly this flip."""
        direction = results['flip_direction']
        h, w = results['img'].shape[:2]
        matrix = np.eye(3, dtype=np.float32)
        if direction in ('horizontal', 'diagonal'):
            matrix[0, 0], matrix[0, 2] = -1, w - 1
        if direction in ('vertical', 'diagonal'):
            matrix[1, 1], matrix[1, 2] = -1, h - 1
        previous = results.get('homography_matrix', None)
        results['homography_matrix'] = matrix if previous is None else matrix @ previous
