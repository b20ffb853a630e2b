"""The Fast R-CNN detection head used by Faster R-CNN (§3.2; Fast R-CNN §2).

RoI-pooled features → fc6 (4096) → ReLU → dropout 0.5 → fc7 (4096) → ReLU → dropout 0.5 →
``fc_cls`` (K + 1 softmax scores) and ``fc_reg`` (4K class-specific deltas). As in py-faster-rcnn,
``fc_cls`` starts from N(0, 0.01) and ``fc_reg`` from N(0, 0.001) with zero biases, and fc6/fc7 come
from the ImageNet classifier (``init_cfg=dict(type='Pretrained', ...)`` on the detector); without
pretrained weights they are Xavier-initialised.

VGG-16 uses standard dropout; py-faster-rcnn's ZF nets use Caffe's ``scale_train: false`` dropout
(:class:`CaffeDropout`), chosen here with ``caffe_dropout=True``. Losses, targets and prediction
are mmdet's ``BBoxHead`` (softmax cross-entropy + smooth L1, averaged over the sampled RoIs).

Prediction follows py-faster-rcnn's ``im_detect`` / ``test_net`` rather than mmdet's: the RoIs are
first divided by the image scale, the class-specific deltas are applied **in original-image
coordinates** and the boxes clipped to the original image (``[0, W - 1] x [0, H - 1]``); mmdet
decodes on the resized image, clips to ``[0, W']`` and divides afterwards. Then per-class NMS and the
per-image cap with ties (:func:`paper_multiclass_nms`).
"""
from typing import Optional, Tuple

import torch.nn.functional as F
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ...layers.caffe_dropout import CaffeDropout
from ...layers.paper_multiclass_nms import paper_multiclass_nms
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
            model is compressed with ``tools/model_converters/compress_fc_svd.py``.
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

    def _predict_by_feat_single(self, roi: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                                img_meta: dict, rescale: bool = False,
                                rcnn_test_cfg: Optional[ConfigDict] = None) -> InstanceData:
        """py-faster-rcnn's ``im_detect`` post-processing (module docstring). With ``rescale``
        the boxes are decoded in original-image coordinates and clipped to ``ori_shape``;
        without, on the resized image and clipped to ``img_shape``. ``rcnn_test_cfg=None`` (test-time
        augmentation) returns every RoI's class-specific boxes and scores without NMS, as mmdet."""
        if roi.size(0) == 0 or bbox_pred is None or self.custom_cls_channels:
            return super()._predict_by_feat_single(roi, cls_score, bbox_pred, img_meta, rescale,
                                                   rcnn_test_cfg)
        scores = F.softmax(cls_score, dim=-1)
        boxes = roi[:, 1:]
        shape = img_meta['img_shape']
        if rescale:
            w_scale, h_scale = img_meta['scale_factor'][:2]
            boxes = boxes / boxes.new_tensor([w_scale, h_scale, w_scale, h_scale])
            shape = img_meta['ori_shape']
        bboxes = self.bbox_coder.decode(boxes, bbox_pred, max_shape=shape)
        results = InstanceData()
        if rcnn_test_cfg is None:
            results.bboxes, results.scores = bboxes, scores
            return results
        dets, labels = paper_multiclass_nms(bboxes, scores, rcnn_test_cfg.score_thr, rcnn_test_cfg.nms,
                                            rcnn_test_cfg.max_per_img)
        results.bboxes, results.scores, results.labels = dets[:, :4], dets[:, 4], labels
        return results
