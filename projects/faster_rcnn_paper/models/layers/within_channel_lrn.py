"""Caffe's local response normalisation across space (``norm_region: WITHIN_CHANNEL``), used by ZF.

ZF-net (Zeiler & Fergus 2014; py-faster-rcnn ``models/pascal_voc/ZF``) normalises conv1 and conv2
with LRN of size 3, alpha 5e-5, beta 0.75 within each channel. Caffe computes it as
``x / (1 + alpha · mean(x²))^beta``, the mean taken over a size × size window with zero padding
counted in the window (an AVE pooling with pad (size - 1) / 2). ``torch.nn.LocalResponseNorm``
normalises across channels instead, so it is not the same layer.
"""
from torch import Tensor, nn
from torch.nn import functional as F


class WithinChannelLRN(nn.Module):

    def __init__(self, size: int = 3, alpha: float = 5e-5, beta: float = 0.75) -> None:
        super().__init__()
        if size < 1 or size % 2 == 0:
            raise ValueError(f'LRN size must be a positive odd number, got {size}')
        self.size, self.alpha, self.beta = size, alpha, beta

    def forward(self, x: Tensor) -> Tensor:
        mean_sq = F.avg_pool2d(x * x, self.size, stride=1, padding=self.size // 2,
                               count_include_pad=True)
        return x / (1.0 + self.alpha * mean_sq).pow(self.beta)

    def extra_repr(self) -> str:
        return f'size={self.size}, alpha={self.alpha}, beta={self.beta}'
