"""The demo's stand-in for ImageNet pre-training: trains the detector's trunk through its RoI pooling
and saves it in the converted-ImageNet layout that the detector's init_cfg loads."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401
import numpy as np

from faster_rcnn_paper.demo.stand_in_pretraining import _iou, _sample_rois, pretrain_on_toy_images, toy_scene_images
from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES
from mmdet.registry import MODELS
from tests.tiny import REPO


def test_scenes_are_resized_as_the_detector_resizes():
    scenes = toy_scene_images(seed=3, num_images=4, scale=(160, 96))
    for image, boxes, labels in scenes:
        height, width = image.shape[:2]
        assert min(height, width) <= 96 and max(height, width) <= 160
        assert min(height, width) == 96 or max(height, width) == 160  # keep_ratio: one side at its limit
        assert ((boxes[:, 2] <= width) & (boxes[:, 3] <= height)).all()
        assert ((labels >= 0) & (labels < len(TOY_CLASSES))).all()


def _iou_with(rois, box):
    return np.array([_iou(roi, box[None])[0] for roi in rois])


def test_regions_are_objects_jitters_parts_and_background():
    boxes = np.array([[40, 30, 139, 89], [200, 100, 259, 219]], dtype=np.float32)
    labels = np.array([1, 3])
    rois, roi_labels = _sample_rois(np.random.default_rng(0), boxes, labels, 240, 320, jitters=3,
                                    num_background=6, parts=4)
    background = len(TOY_CLASSES)
    best = np.stack([_iou(roi, boxes) for roi in rois]).max(1)
    assert ((roi_labels == background) | (best >= 0.7)).all()  # objects: the box and its jitters
    assert (np.bincount(roi_labels[roi_labels < background]) == [0, 4, 0, 4]).all()
    # background: 4 per object on a part of it / offset from it (IoU 0.1-0.5), 6 elsewhere (< 0.3)
    assert (roi_labels == background).sum() == 14 and (best[roi_labels == background] < 0.5).all()
    per_object = [((roi_labels == background) & (_iou_with(rois, box) >= 0.1)).sum() for box in boxes]
    assert min(per_object) >= 4, per_object


def test_region_stand_in_trains_through_roi_pooling_and_loads_through_init_cfg(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_joint_voc.py'))
    init_default_scope('mmdet')
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    before = backbone.conv5.weight.detach().clone()
    out = str(tmp_path / 'stand_in_regions.pth')
    summary = pretrain_on_toy_images(backbone, in_channels=256, roi_size=6, fc_channels=64,
                                     pixel_mean=cfg.model.data_preprocessor.mean, out_file=out,
                                     scale=(160, 96), caffe_dropout=True, iters=2, num_images=4,
                                     jitters=1, num_background=2)
    assert summary['iters'] == 2 and 0 <= summary['held_out_accuracy'] <= 1
    saved = torch.load(out, weights_only=True)['state_dict']
    assert not torch.equal(saved['backbone.conv5.weight'], before)  # it trained
    assert saved['backbone.conv1.weight'].shape == (96, 3, 7, 7)
    assert saved['roi_head.bbox_head.fc6.weight'].shape == (64, 256 * 36)
    assert not osp.exists(out + '.tmp')
    cfg.model.roi_head.bbox_head.fc_out_channels = 64
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=out)
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    assert torch.equal(detector.backbone.conv5.weight, saved['backbone.conv5.weight'])
    assert torch.equal(detector.roi_head.bbox_head.fc7.bias, saved['roi_head.bbox_head.fc7.bias'])
