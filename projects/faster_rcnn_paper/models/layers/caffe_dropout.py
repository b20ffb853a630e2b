"""Caffe's dropout with ``scale_train: false``, as in py-faster-rcnn's ZF nets.

py-faster-rcnn's ZF prototxts set ``dropout_param { scale_train: false }`` on fc6/fc7: in training the
kept activations are *not* divided by (1 - p), and at test time every activation is multiplied by
(1 - p) instead (caffe-fast-rcnn ``dropout_layer.cpp``). In expectation this equals ``nn.Dropout``;
the difference is which of train / test carries the scale, which matters for weights trained in Caffe.
"""
import torch
from torch import Tensor, nn


class CaffeDropout(nn.Module):
    """Dropout that scales at test time (``scale_train=False``) or, like ``nn.Dropout``, in training."""

    def __init__(self, p: float = 0.5, scale_train: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f'dropout probability must be in [0, 1), got {p}')
        self.p = p
        self.scale_train = scale_train

    def forward(self, x: Tensor) -> Tensor:
        if self.scale_train:
            return nn.functional.dropout(x, self.p, self.training)
        if not self.training:
            return x * (1.0 - self.p)
        return x * torch.bernoulli(torch.full_like(x, 1.0 - self.p))

    def extra_repr(self) -> str:
        return f'p={self.p}, scale_train={self.scale_train}'
