from .paper_det_tta_model import PaperDetTTAModel

__all__ = ['PaperDetTTAModel']
