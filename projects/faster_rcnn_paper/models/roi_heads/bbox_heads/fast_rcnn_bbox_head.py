"""The Fast R-CNN detection head used by Faster R-CNN (§3.2; Fast R-CNN §2).

RoI-pooled features → fc6 (4096) → ReLU → dropout 0.5 → fc7 (4096) → ReLU → dropout 0.5 →
``fc_cls`` (K + 1 softmax scores) and ``fc_reg`` (4K class-specific deltas). As in py-faster-rcnn,
``fc_cls`` starts from N(0, 0.01) and ``fc_reg`` from N(0, 0.001) with zero biases, and fc6/fc7 come
from the ImageNet classifier (``init_cfg=dict(type='Pretrained', ...)`` on the detector); without
pretrained weights they are Xavier-initialised.

VGG-16 uses standard dropout; py-faster-rcnn's ZF nets use Caffe's ``scale_train: false`` dropout
(:class:`CaffeDropout`), chosen here with ``caffe_dropout=True``. Losses, targets and prediction
are mmdet's ``BBoxHead`` (softmax cross-entropy + smooth L1, averaged over the sampled RoIs).
"""
from typing import Optional, Tuple

from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.registry import MODELS
from torch import Tensor, nn

from ...layers.caffe_dropout import CaffeDropout
from ...layers.truncated_svd_linear import TruncatedSVDLinear


def _fc(in_features: int, out_features: int, rank: Optional[int]) -> nn.Module:
    if rank is None:
        return nn.Linear(in_features, out_features)
    return TruncatedSVDLinear(in_features, out_features, rank)


@MODELS.register_module()
class FastRCNNBBoxHead(BBoxHead):
    """fc6 / fc7 with dropout, then class scores and class-specific box deltas.

    Args:
        fc_out_channels: width of fc6 and fc7 (4096 in the paper).
        dropout_ratio: dropout after fc6 and fc7 (0.5 in the paper; 0 disables it).
        caffe_dropout: use Caffe's ``scale_train: false`` dropout (py-faster-rcnn ZF nets).
        fc6_rank / fc7_rank: build fc6 / fc7 as truncated-SVD pairs of this rank
            (:class:`TruncatedSVDLinear`; Fast R-CNN §3.1: 1024 and 256 for VGG-16). A trained
            model is compressed with ``tools/compress_fc_svd.py``.
        **kwargs: mmdet ``BBoxHead`` arguments (``in_channels``, ``roi_feat_size``,
            ``num_classes``, ``bbox_coder``, losses, ...).
    """

    def __init__(self, fc_out_channels: int = 4096, dropout_ratio: float = 0.5,
                 caffe_dropout: bool = False, fc6_rank: Optional[int] = None,
                 fc7_rank: Optional[int] = None, init_cfg=None, **kwargs) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Normal', std=0.01, override=dict(name='fc_cls')),
                dict(type='Normal', std=0.001, override=dict(name='fc_reg')),
                dict(type='Xavier', distribution='uniform', override=[dict(name='fc6'), dict(name='fc7')]),
            ]
        super().__init__(with_avg_pool=False, init_cfg=init_cfg, **kwargs)
        self.fc_out_channels = fc_out_channels
        self.fc6 = _fc(self.in_channels * self.roi_feat_area, fc_out_channels, fc6_rank)
        self.fc7 = _fc(fc_out_channels, fc_out_channels, fc7_rank)
        self.relu = nn.ReLU(inplace=True)
        if caffe_dropout:
            self.drop6 = CaffeDropout(dropout_ratio, scale_train=False)
            self.drop7 = CaffeDropout(dropout_ratio, scale_train=False)
        else:
            self.drop6 = nn.Dropout(dropout_ratio)
            self.drop7 = nn.Dropout(dropout_ratio)
        # BBoxHead sized its predictors for the flattened RoI features; they sit on fc7 here.
        if self.with_cls:
            self.fc_cls = nn.Linear(fc_out_channels, self.fc_cls.out_features)
        if self.with_reg:
            self.fc_reg = nn.Linear(fc_out_channels, self.fc_reg.out_features)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        x = x.flatten(1)
        x = self.drop6(self.relu(self.fc6(x)))
        x = self.drop7(self.relu(self.fc7(x)))
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred
