from .caffe_dropout import CaffeDropout
from .within_channel_lrn import WithinChannelLRN

__all__ = ['CaffeDropout', 'WithinChannelLRN']
