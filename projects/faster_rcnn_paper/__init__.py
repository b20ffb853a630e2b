"""Faster R-CNN (Ren, He, Girshick, Sun; arXiv:1506.01497) as an MMDetection 3.x plugin.

Importing the package (``custom_imports=dict(imports=['faster_rcnn_paper'])`` in a config) registers
its components in mmdet's registries and lets torch's weights-only loader read MMEngine checkpoints.
"""
from . import datasets, engine, evaluation, models  # noqa: F401  (registers the components)
from .utils.checkpoint_safety import allow_mmengine_checkpoints

allow_mmengine_checkpoints()

__version__ = '0.1.0'
