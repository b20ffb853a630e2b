from .backbones import VGG16, ZFNet
from .dense_heads import PaperRPNHead
from .detectors import PaperFasterRCNN
from .layers import CaffeDropout, WithinChannelLRN
from .roi_heads import CaffeRoIExtractor, FastRCNNBBoxHead, NonApproximateRoIHead
from .task_modules import LegacyBboxOverlaps2D, PaperAnchorGenerator, PaperDeltaXYWHBBoxCoder

__all__ = [
    'VGG16', 'ZFNet', 'PaperRPNHead', 'PaperFasterRCNN', 'CaffeDropout', 'WithinChannelLRN', 'CaffeRoIExtractor',
    'FastRCNNBBoxHead', 'LegacyBboxOverlaps2D', 'NonApproximateRoIHead', 'PaperAnchorGenerator',
    'PaperDeltaXYWHBBoxCoder'
]
