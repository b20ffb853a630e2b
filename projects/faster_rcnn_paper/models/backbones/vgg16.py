"""VGG-16, the "deep" backbone of Faster R-CNN (§4; Simonyan & Zisserman 2015), in Caffe's layout.

The 13 shareable conv layers ``conv1_1`` … ``conv5_3`` (3×3, pad 1, each followed by ReLU) with a 2×2
/2 max-pool after blocks 1–4; pool5 is replaced by RoI pooling (7×7) and fc6/fc7 live in the Fast
R-CNN head (:class:`FastRCNNBBoxHead`). Pooling rounds up as Caffe does (``ceil_mode=True``): a
600×1000 image gives a 38×63 conv5_3 map (stride 16). py-faster-rcnn does not train the layers
before conv3_1 ("conv1_1 … conv2_2 lr_mult 0"): ``frozen_stages=2`` (the default) freezes them.
"""
from typing import Optional, Tuple

from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

# (block, number of convs, out_channels)
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))


@MODELS.register_module()
class VGG16(BaseModule):
    """conv1_1 … conv5_3 of VGG-16; returns ``(conv5_3,)`` (512 channels, stride 16).

    Args:
        frozen_stages: number of leading conv blocks whose parameters do not train
            (paper / py-faster-rcnn: 2, i.e. conv1_x and conv2_x).
    """
    out_channels = 512
    stride = 16

    def __init__(self, frozen_stages: int = 2, init_cfg: Optional[dict] = None) -> None:
        if init_cfg is None:
            init_cfg = dict(type='Kaiming', layer='Conv2d', nonlinearity='relu')
        super().__init__(init_cfg=init_cfg)
        if not 0 <= frozen_stages <= len(VGG16_BLOCKS):
            raise ValueError(f'frozen_stages must be in [0, {len(VGG16_BLOCKS)}], got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.layer_names = []
        in_channels = 3
        for block, num_convs, out_channels in VGG16_BLOCKS:
            for i in range(1, num_convs + 1):
                name = f'conv{block}_{i}'
                self.add_module(name, nn.Conv2d(in_channels, out_channels, 3, padding=1))
                self.layer_names.append(name)
                in_channels = out_channels
            if block < 5:
                self.add_module(f'pool{block}', nn.MaxPool2d(2, 2, ceil_mode=True))
                self.layer_names.append(f'pool{block}')
        self.relu = nn.ReLU(inplace=True)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        for block in range(1, self.frozen_stages + 1):
            for name, module in self.named_children():
                if name.startswith(f'conv{block}_'):
                    for param in module.parameters():
                        param.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        for name in self.layer_names:
            layer = getattr(self, name)
            x = layer(x) if name.startswith('pool') else self.relu(layer(x))
        return (x, )
