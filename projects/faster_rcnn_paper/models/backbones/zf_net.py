"""ZF-net, the "fast" backbone of Faster R-CNN (§4; Zeiler & Fergus 2014), in py-faster-rcnn's layout.

Five shareable conv layers (``models/pascal_voc/ZF/faster_rcnn_*/train.prototxt``)::

    conv1 96 7×7 /2 pad 3 → ReLU → LRN → max-pool 3×3 /2 pad 1
    conv2 256 5×5 /2 pad 2 → ReLU → LRN → max-pool 3×3 /2 pad 1
    conv3 384 3×3 pad 1 → ReLU;  conv4 384 3×3 pad 1 → ReLU;  conv5 256 3×3 pad 1 → ReLU

Total stride 16. LRN is Caffe's within-channel one (size 3, alpha 5e-5, beta 0.75) and pooling
rounds up (Caffe / ``ceil_mode=True``), which fixes the feature-map size and so the anchor count.
The fc6/fc7 layers live in the Fast R-CNN head (:class:`FastRCNNBBoxHead`, 6×6 RoI pooling).

The trunk runs in channels-last memory layout (``channels_last=True``; the same numbers up to float
rounding): on CPU its 3×3 max-pools (and the LRN's window mean in its PyTorch form) are ~10x faster
than in the default layout, and the LRN's compiled CPU op reads that layout directly. With both,
the trunk's forward is ~2x and its forward + backward 1.6-1.8x faster than in the default layout
with autograd through the LRN formula (``tools/analysis_tools/benchmark_zf_trunk.py``). The
returned conv5 map is contiguous again.
"""
from typing import Optional, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers.within_channel_lrn import WithinChannelLRN

# (name, out_channels, kernel, stride, padding, followed by LRN + pool)
ZF_CONVS = (
    ('conv1', 96, 7, 2, 3, True),
    ('conv2', 256, 5, 2, 2, True),
    ('conv3', 384, 3, 1, 1, False),
    ('conv4', 384, 3, 1, 1, False),
    ('conv5', 256, 3, 1, 1, False),
)


@MODELS.register_module()
class ZFNet(BaseModule):
    """The five conv layers of ZF-net; returns ``(conv5,)`` (256 channels, stride 16).

    Args:
        frozen_stages: number of leading conv layers to freeze (py-faster-rcnn trains all five
            ZF convs in stage 1 and end-to-end training, so the default is 0).
        lrn: LRN settings (size, alpha, beta).
        channels_last: run the trunk in channels-last memory layout (faster; same numbers).
    """
    out_channels = 256
    stride = 16

    def __init__(self, frozen_stages: int = 0, lrn: Tuple[int, float, float] = (3, 5e-5, 0.75),
                 channels_last: bool = True, init_cfg: Optional[dict] = None) -> None:
        if init_cfg is None:
            init_cfg = dict(type='Kaiming', layer='Conv2d', nonlinearity='relu')
        super().__init__(init_cfg=init_cfg)
        if not 0 <= frozen_stages <= len(ZF_CONVS):
            raise ValueError(f'frozen_stages must be in [0, {len(ZF_CONVS)}], got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.channels_last = channels_last
        in_channels = 3
        for name, out_channels, kernel, stride, padding, with_pool in ZF_CONVS:
            self.add_module(name, nn.Conv2d(in_channels, out_channels, kernel, stride, padding))
            if with_pool:
                self.add_module(f'norm{name[-1]}', WithinChannelLRN(*lrn))
                self.add_module(f'pool{name[-1]}', nn.MaxPool2d(3, 2, padding=1, ceil_mode=True))
            in_channels = out_channels
        self.relu = nn.ReLU(inplace=True)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        for name, *_ in ZF_CONVS[:self.frozen_stages]:
            for param in getattr(self, name).parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        for name, *_, with_pool in ZF_CONVS:
            x = self.relu(getattr(self, name)(x))
            if with_pool:
                x = getattr(self, f'pool{name[-1]}')(getattr(self, f'norm{name[-1]}')(x))
        return (x.contiguous(), )
