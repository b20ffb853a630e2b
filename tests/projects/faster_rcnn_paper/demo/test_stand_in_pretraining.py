"""The demo's stand-in for ImageNet pre-training: trains the detector's trunk through its RoI pooling
and saves it in the converted-ImageNet layout that the detector's init_cfg loads."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.demo.stand_in_pretraining import pretrain_on_toy_images, toy_scene_images
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
