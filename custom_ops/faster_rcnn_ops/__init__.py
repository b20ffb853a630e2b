"""Compiled operators of the Faster R-CNN paper implementation.

Importing this package loads the compiled library (``faster_rcnn_ops._C``), which registers the
``torch.ops.faster_rcnn`` operators, and registers their fake kernels and autograd formulas.
"""
import torch  # noqa: F401  (first: loads the libtorch / libc10 that _C links against)

from . import _C  # noqa: F401  (registers torch.ops.faster_rcnn.*)
from .nms import nms
from .roi_pool import RoIPool, roi_pool
from .roi_warp import RoIWarp, roi_warp
from .within_channel_lrn import within_channel_lrn

__all__ = ['RoIPool', 'RoIWarp', 'nms', 'roi_pool', 'roi_warp', 'within_channel_lrn']
