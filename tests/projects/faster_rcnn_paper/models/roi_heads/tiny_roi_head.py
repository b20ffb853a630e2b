"""A tiny RoI head (8 channels, 3x3 RoIs, 3 classes) built through the registry, for CPU tests."""
from mmengine.config import ConfigDict

import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import MODELS


def tiny_roi_head(type='StandardRoIHead', roi_layer=None, sampler=None, **kwargs):
    """``type`` with our Caffe extractor over ``roi_layer`` (default RoI pooling), a FastRCNNBBoxHead
    without dropout, the paper's assigner and ``sampler`` (default 16 RoIs, 1/4 foreground)."""
    return MODELS.build(dict(
        type=type, **kwargs,
        bbox_roi_extractor=dict(type='CaffeRoIExtractor', out_channels=8, featmap_strides=[16],
                                roi_layer=roi_layer or dict(type='RoIPool', output_size=3)),
        bbox_head=dict(type='FastRCNNBBoxHead', in_channels=8, roi_feat_size=3, fc_out_channels=32,
                       num_classes=3, dropout_ratio=0.0,
                       bbox_coder=dict(type='LegacyDeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2])),
        train_cfg=ConfigDict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=False, ignore_iof_thr=-1,
                          iou_calculator=dict(type='LegacyBboxOverlaps2D')),
            sampler=sampler or dict(type='RandomSampler', num=16, pos_fraction=0.25, neg_pos_ub=-1,
                                    add_gt_as_proposals=True),
            pos_weight=-1, debug=False),
        test_cfg=ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.3, offset=1),
                            max_per_img=10)))
