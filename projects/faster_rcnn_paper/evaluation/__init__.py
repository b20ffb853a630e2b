"""Evaluation as py-faster-rcnn evaluates (its ``voc_eval``)."""
from .metrics import PaperVOCMetric, voc_eval_per_class

__all__ = ['PaperVOCMetric', 'voc_eval_per_class']
