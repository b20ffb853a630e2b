from .bbox_heads import FastRCNNBBoxHead
from .roi_extractors import CaffeRoIExtractor

__all__ = ['FastRCNNBBoxHead', 'CaffeRoIExtractor']
