from .caffe_dropout import CaffeDropout
from .paper_multiclass_nms import paper_multiclass_nms
from .truncated_svd_linear import TruncatedSVDLinear
from .within_channel_lrn import WithinChannelLRN

__all__ = ['CaffeDropout', 'TruncatedSVDLinear', 'WithinChannelLRN', 'paper_multiclass_nms']
