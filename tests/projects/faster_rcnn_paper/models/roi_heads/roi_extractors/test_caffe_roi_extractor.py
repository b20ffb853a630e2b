"""The Caffe RoI extractor inside a tiny mmdet RoI head (CPU)."""
import pytest
import torch
from mmengine.structures import InstanceData

import faster_rcnn_ops
import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

from ..tiny_roi_head import tiny_roi_head


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
