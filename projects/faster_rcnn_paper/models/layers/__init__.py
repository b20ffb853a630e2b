from .caffe_dropout import CaffeDropout
from .truncated_svd_linear import TruncatedSVDLinear
from .within_channel_lrn import WithinChannelLRN

__all__ = ['CaffeDropout', 'TruncatedSVDLinear', 'WithinChannelLRN']
