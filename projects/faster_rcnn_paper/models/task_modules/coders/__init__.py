from .paper_delta_xywh_bbox_coder import PaperDeltaXYWHBBoxCoder

__all__ = ['PaperDeltaXYWHBBoxCoder']
