from .bbox_heads import FastRCNNBBoxHead
from .non_approximate_roi_head import NonApproximateRoIHead
from .roi_extractors import CaffeRoIExtractor

__all__ = ['FastRCNNBBoxHead', 'CaffeRoIExtractor', 'NonApproximateRoIHead']
