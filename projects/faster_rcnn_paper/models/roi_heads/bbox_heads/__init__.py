from .fast_rcnn_bbox_head import FastRCNNBBoxHead

__all__ = ['FastRCNNBBoxHead']
