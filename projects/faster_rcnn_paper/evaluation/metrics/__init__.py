from .paper_voc_metric import PaperVOCMetric, voc_eval_per_class

__all__ = ['PaperVOCMetric', 'voc_eval_per_class']
