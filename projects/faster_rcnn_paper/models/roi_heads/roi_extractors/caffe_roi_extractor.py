"""RoI feature extractor that can use the compiled Caffe RoI pooling op (Fast R-CNN §2.1).

mmdet's ``BaseRoIExtractor`` looks up ``roi_layer.type`` in ``mmcv.ops`` only; this extractor first
looks in ``faster_rcnn_ops`` (``RoIPool``: Caffe / py-faster-rcnn exact, CPU and CUDA kernels), then
falls back to ``mmcv.ops`` (e.g. ``RoIAlign``). As in mmdet, the spatial scale of each layer is
1 / feature stride, so a config only gives ``roi_layer=dict(type='RoIPool', output_size=7)``.
"""
from typing import List

import faster_rcnn_ops
from mmcv import ops as mmcv_ops
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from torch import nn


@MODELS.register_module()
class CaffeRoIExtractor(SingleRoIExtractor):
    """``SingleRoIExtractor`` whose ``roi_layer`` types resolve in ``faster_rcnn_ops`` first."""

    def build_roi_layers(self, layer_cfg: ConfigType, featmap_strides: List[int]) -> nn.ModuleList:
        cfg = dict(layer_cfg)
        layer_type = cfg.pop('type')
        if isinstance(layer_type, str):
            layer_cls = getattr(faster_rcnn_ops, layer_type, None) or getattr(mmcv_ops, layer_type, None)
            if layer_cls is None:
                raise KeyError(f'roi_layer type {layer_type!r} is neither in faster_rcnn_ops '
                               f'({faster_rcnn_ops.__all__}) nor in mmcv.ops')
        else:
            layer_cls = layer_type
        return nn.ModuleList([layer_cls(spatial_scale=1 / s, **cfg) for s in featmap_strides])
