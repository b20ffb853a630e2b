"""Configs derive what they share instead of copying it: the demo configs' pipelines are the VOC
base's at the demo's img_scale, and every non-approximate joint config takes its model settings
from _base_/models/non_approximate_joint.py. The resolved values are the ones the configs had when
each stated them in full (written out here by hand)."""
import os.path as osp
import shutil

import pytest
from mmengine.config import Config

from tests.tiny import REPO

META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')
LOAD = dict(type='LoadImageFromFile', backend_args=None)
ANNOTATIONS = dict(type='LoadAnnotations', with_bbox=True)
FLIP = dict(type='PaperRandomFlip', prob=0.5)


def resize(scale):
    return dict(type='PaperResize', scale=scale)


def paper_pipelines(scale):
    """The four pipelines of _base_/datasets/voc07.py at ``scale``, as literal lists."""
    return dict(
        train_pipeline=[LOAD, ANNOTATIONS, FLIP, resize(scale), dict(type='PackDetInputs')],
        test_pipeline=[LOAD, resize(scale), ANNOTATIONS, dict(type='PackDetInputs', meta_keys=META_KEYS)],
        proposal_train_pipeline=[
            LOAD, dict(type='LoadProposals', num_max_proposals=2000), ANNOTATIONS,
            dict(type='ProposalBroadcaster', transforms=[FLIP, resize(scale)]), dict(type='PackDetInputs')],
        proposal_test_pipeline=[
            LOAD, dict(type='LoadProposals', num_max_proposals=None),
            dict(type='ProposalBroadcaster', transforms=[resize(scale)]), ANNOTATIONS,
            dict(type='PackDetInputs', meta_keys=META_KEYS)])


def plain(value):
    """Config values as plain lists and dicts (tuples become lists), for comparison."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize('config,scale', [
    ('faster_rcnn_zf_voc.py', (1000, 600)),
    ('faster_rcnn_vgg16_voc.py', (1000, 600)),
    ('faster_rcnn_zf_joint_voc.py', (1000, 600)),
    ('faster_rcnn_zf_alternating_toyvoc.py', (480, 320)),
    ('faster_rcnn_zf_joint_toyvoc.py', (480, 320)),
    ('faster_rcnn_zf_nonapprox_joint_toyvoc.py', (480, 320)),
])
def test_pipelines_resolve_to_the_paper_pipelines_at_the_config_scale(config, scale):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    assert tuple(cfg.img_scale) == scale
    expected = paper_pipelines(scale)
    for name, pipeline in expected.items():
        assert plain(cfg[name]) == plain(pipeline), name
    assert plain(cfg.train_dataloader.dataset.pipeline) == plain(expected['train_pipeline'])
    assert plain(cfg.val_dataloader.dataset.pipeline) == plain(expected['test_pipeline'])
    assert plain(cfg.test_dataloader.dataset.pipeline) == plain(expected['test_pipeline'])


def test_demo_pipelines_follow_a_change_of_the_voc_base(tmp_path):
    """A step added to the VOC base reaches the demo config: its pipelines are derived, not copied."""
    configs = tmp_path / 'configs'
    shutil.copytree(osp.join(REPO, 'configs'), configs)
    base = configs / '_base_' / 'datasets' / 'voc07.py'
    text = base.read_text()
    old = "    dict(type='PackDetInputs')\n]\ntest_pipeline"
    assert old in text
    base.write_text(text.replace(old, "    dict(type='PhotoMetricDistortion'),\n" + old))
    voc = Config.fromfile(str(configs / 'faster_rcnn_zf_voc.py'))
    toy = Config.fromfile(str(configs / 'faster_rcnn_zf_alternating_toyvoc.py'))
    steps = [step.type for step in toy.train_dataloader.dataset.pipeline]
    assert steps == [step.type for step in voc.train_pipeline] and steps[-2] == 'PhotoMetricDistortion'
    assert toy.train_dataloader.dataset.pipeline[3].scale == (480, 320)


@pytest.mark.parametrize('config,roi_size', [('faster_rcnn_zf_nonapprox_joint_voc.py', 6),
                                             ('faster_rcnn_vgg16_nonapprox_joint_voc.py', 7),
                                             ('faster_rcnn_zf_nonapprox_joint_toyvoc.py', 6)])
def test_non_approximate_joint_settings(config, roi_size):
    model = Config.fromfile(osp.join(REPO, 'configs', config)).model
    assert model.train_mode == 'non_approximate_joint'
    head = model.roi_head
    assert (head.type, head.box_grad_from, head.box_grad_scale) == ('NonApproximateRoIHead', 'all', 0.1)
    assert plain(head.bbox_roi_extractor.roi_layer) == dict(type='RoIWarp', output_size=roi_size, sampling_ratio=2)
    assert head.bbox_head.roi_feat_size == roi_size
