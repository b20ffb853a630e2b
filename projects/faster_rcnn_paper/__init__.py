"""Faster R-CNN (Ren, He, Girshick, Sun; arXiv:1506.01497) as an MMDetection 3.x plugin.

Importing the package (``custom_imports=dict(imports=['faster_rcnn_paper'])`` in a config) registers
its components in mmdet's registries, lets torch's weights-only loader read MMEngine checkpoints and
gives MMEngine's FLOP counter handles for our compiled ops. :func:`config_path` locates the paper
configs shipped inside the package, for ``_base_`` (``packaged_configs.py``).
"""
from . import datasets, engine, evaluation, models, visualization  # noqa: F401  (registers the components)
from .packaged_configs import config_path  # noqa: F401
from .models.layers.within_channel_lrn import TRACED_OP_NAMES as LRN_TRACED_OPS
from .utils.checkpoint_safety import allow_mmengine_checkpoints
from .utils.flop_handles import register_flop_handles

allow_mmengine_checkpoints()
register_flop_handles(not_counted_ops=LRN_TRACED_OPS)

__version__ = '0.1.0'
