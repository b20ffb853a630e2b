from .caffe_roi_extractor import CaffeRoIExtractor

__all__ = ['CaffeRoIExtractor']
