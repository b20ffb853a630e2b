"""The image scale of py-faster-rcnn (``lib/utils/blob.py:prep_im_for_blob``), both train and test.

py-faster-rcnn computes one scale factor for both axes,
``s = target / min(H, W)``, and ``s = max_size / max(H, W)`` if ``round(s · max(H, W)) > max_size``
(``SCALES = (600,)``, ``MAX_SIZE = 1000``), then resizes the *float* image (mean already subtracted)
with ``cv2.resize(fx=s, fy=s, INTER_LINEAR)``; boxes and proposals are multiplied by the same ``s``
(``_project_im_rois``), and at test time detections are divided by it (``im_detect``).

mmdet's ``Resize(keep_ratio=True)`` differs slightly: ``s = min(max_size / long, target / short)``
(no rounding in the rule), new sizes ``int(w · s + 0.5)``, a separate ``w_scale`` / ``h_scale``
equal to the rounded size ratios (up to ~0.1 % apart), and a uint8 resize (the interpolated
pixels are rounded to integers before the mean is subtracted). :class:`PaperResize` is mmdet's
``Resize`` with py-faster-rcnn's rule: ``scale_factor = (s, s)``, and the image resized as float32
(mean subtraction commutes with bilinear interpolation, whose weights sum to 1, so resizing before
the data preprocessor subtracts the mean gives py-faster-rcnn's pixels up to float rounding).
"""
from typing import Tuple

import cv2
import numpy as np
from mmdet.datasets.transforms import Resize
from mmdet.registry import TRANSFORMS


def paper_scale_factor(height: int, width: int, target_size: int, max_size: int) -> float:
    """py-faster-rcnn's image scale: shorter side ``target_size`` unless the longer side would
    exceed ``max_size`` (after rounding), then longer side ``max_size``."""
    short, long = min(height, width), max(height, width)
    scale = float(target_size) / float(short)
    if round(scale * long) > max_size:  # np.round in py-faster-rcnn: both round half to even
        scale = float(max_size) / float(long)
    return scale


@TRANSFORMS.register_module()
class PaperResize(Resize):
    """Resize by one factor ``s`` as py-faster-rcnn (see module docstring).

    Args:
        scale: ``(max_size, target_size)`` in either order, e.g. ``(1000, 600)`` as in mmdet's
            ``Resize(scale=(1000, 600), keep_ratio=True)``.
        to_float32: resize the float32 image (py-faster-rcnn) instead of the uint8 one.
        **kwargs: mmdet ``Resize`` arguments (``clip_object_border`` ...); ``keep_ratio`` is
            always true and the interpolation is bilinear (``cv2.INTER_LINEAR``).
    """

    def __init__(self, scale: Tuple[int, int], to_float32: bool = True, **kwargs) -> None:
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'PaperResize: scale must be (max_size, target_size), got {scale!r}')
        kwargs.pop('keep_ratio', None)
        super().__init__(scale=tuple(scale), keep_ratio=True, interpolation='bilinear', **kwargs)
        self.to_float32 = to_float32

    def _resize_img(self, results: dict) -> None:
        img = results.get('img', None)
        if img is None:
            return
        height, width = img.shape[:2]
        scale = paper_scale_factor(height, width, min(self.scale), max(self.scale))
        if self.to_float32:
            img = img.astype(np.float32, copy=False)
        resized = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        if resized.ndim == 2 and img.ndim == 3:  # cv2 drops a single channel axis
            resized = resized[..., None]
        results['img'] = resized
        results['img_shape'] = resized.shape[:2]
        results['scale_factor'] = (scale, scale)
        results['keep_ratio'] = True
