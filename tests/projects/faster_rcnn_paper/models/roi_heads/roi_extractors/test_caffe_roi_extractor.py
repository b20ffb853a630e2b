"""The Caffe RoI extractor inside a tiny mmdet RoI head (CPU)."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

import faster_rcnn_ops
import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample


def test_builds_our_op_with_spatial_scale_from_stride():
    ext = MODELS.build(dict(type='CaffeRoIExtractor', roi_layer=dict(type='RoIPool', output_size=7),
                            out_channels=4, featmap_strides=[16]))
    (layer, ) = ext.roi_layers
    assert isinstance(layer, faster_rcnn_ops.RoIPool) and layer.spatial_scale == 1 / 16
    feats = torch.randn(2, 4, 10, 12)
    rois = torch.tensor([[0.0, 0, 0, 100, 80], [1.0, 30, 20, 150, 150]])
    assert torch.equal(ext((feats, ), rois), faster_rcnn_ops.roi_pool(feats, rois, 7, 1 / 16))


def test_falls_back_to_mmcv_ops_and_rejects_unknown_types():
    ext = MODELS.build(dict(type='CaffeRoIExtractor', out_channels=4, featmap_strides=[16],
                            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)))
    assert type(ext.roi_layers[0]).__module__.startswith('mmcv.ops')
    with pytest.raises(KeyError, match='NoSuchPool'):
        MODELS.build(dict(type='CaffeRoIExtractor', out_channels=4, featmap_strides=[16],
                          roi_layer=dict(type='NoSuchPool', output_size=7)))


def tiny_roi_head():
    return MODELS.build(dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='CaffeRoIExtractor', roi_layer=dict(type='RoIPool', output_size=3),
                                out_channels=8, featmap_strides=[16]),
        bbox_head=dict(type='FastRCNNBBoxHead', in_channels=8, roi_feat_size=3, fc_out_channels=32,
                       num_classes=3,
                       bbox_coder=dict(type='LegacyDeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2])),
        train_cfg=ConfigDict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=False, ignore_iof_thr=-1,
                          iou_calculator=dict(type='LegacyBboxOverlaps2D')),
            sampler=dict(type='RandomSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1, debug=False),
        test_cfg=ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.3, offset=1),
                            max_per_img=10)))


def test_inside_standard_roi_head_train_and_predict():
    torch.manual_seed(0)
    head = tiny_roi_head()
    head.init_weights()
    feats = (torch.randn(1, 8, 6, 8, requires_grad=True), )
    sample = DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128),
                                         scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 10, 60, 50]]),
                                       labels=torch.tensor([1]))
    boxes = torch.tensor([[12.0, 8, 58, 52], [70, 40, 120, 90], [0, 0, 30, 30]])
    losses = head.loss(feats, [InstanceData(bboxes=boxes.clone())], [sample])
    total = losses['loss_cls'] + losses['loss_bbox']
    assert torch.isfinite(total)
    total.backward()
    assert feats[0].grad.abs().sum() > 0  # gradient reaches the features through RoI pooling
    head.eval()
    (pred, ) = head.predict(feats, [InstanceData(bboxes=boxes)], [sample], rescale=True)
    assert pred.bboxes.shape[1] == 4 and (pred.labels < 3).all()
    assert (pred.bboxes[:, 2] <= 128).all() and (pred.bboxes[:, 3] <= 96).all()
