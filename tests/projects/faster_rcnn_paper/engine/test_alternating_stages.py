"""Stage specs of 4-step alternating training: accepted forms, defaults, bounds, and one clear
UserInputError (naming stage and key) for each kind of bad spec, before any training."""
import os.path as osp

import pytest
from mmengine.config import Config

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.engine import parse_stages
from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg, stage_at, stage_iteration_options
from faster_rcnn_paper.utils import UserInputError
from mmdet.registry import HOOKS
from tests.tiny import REPO


def test_dict_and_list_forms_agree_and_defaults():
    as_dict = parse_stages(dict(a=dict(mode='rpn', max_iters=2), b=dict(mode='fast_rcnn', max_iters=3)))
    as_list = parse_stages([dict(name='a', mode='rpn', max_iters=2), dict(name='b', mode='fast_rcnn', max_iters=3)])
    assert as_dict == as_list
    a, b = as_dict
    assert (a.begin, a.end, b.begin, b.end) == (0, 2, 2, 5)
    assert b.proposals == 'a' and b.evaluate is True and a.evaluate is False
    assert a.frozen == [] and a.reset == [] and a.param_scheduler == [] and a.optim_wrapper == {}


def test_stage_at_counts_whole_run_iterations():
    stages = parse_stages(dict(a=dict(mode='rpn', max_iters=3), b=dict(mode='fast_rcnn', max_iters=3)))
    assert [stage_at(stages, i) for i in (0, 2, 3, 5, 6)] == [0, 0, 1, 1, 2]


def test_paper_config_stages():
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_vgg16_voc.py'))
    stages = parse_stages(alternating_hook_cfg(cfg).stages)
    assert [(s.name, s.mode, s.max_iters, s.batch_size) for s in stages] == [
        ('step1_rpn', 'rpn', 80000, 1), ('step2_fast_rcnn', 'fast_rcnn', 40000, 2),
        ('step3_rpn', 'rpn', 80000, 1), ('step4_fast_rcnn', 'fast_rcnn', 40000, 2)]
    assert stages[3].proposals == 'step3_rpn' and stages[1].proposals == 'step1_rpn'


@pytest.mark.parametrize('stages,message', [
    (dict(a=dict(mode='rpn', max_iters=2, lr=0.1)), r"stages\.a: unknown key 'lr'"),
    (dict(a=dict(max_iters=2)), r"stages\.a: missing key 'mode'"),
    (dict(a=dict(mode='joint', max_iters=2)),
     r"stages\.a: key 'mode' must be one of \['rpn', 'fast_rcnn'\], got 'joint'"),
    (dict(a=dict(mode='rpn', max_iters=-5)), r"stages\.a: key 'max_iters' must be a positive int, got -5"),
    (dict(a=dict(mode='rpn', max_iters=0)), r"stages\.a: key 'max_iters' must be a positive int"),
    (dict(a=dict(mode='rpn', max_iters=2, batch_size=0)), r"stages\.a: key 'batch_size'"),
    (dict(a=dict(mode='fast_rcnn', max_iters=2)), r"stages\.a: key 'mode': a fast_rcnn stage needs an earlier rpn"),
    (dict(a=dict(mode='rpn', max_iters=2), b=dict(mode='fast_rcnn', max_iters=2, proposals='c')),
     r"stages\.b: key 'proposals' is 'c', which names no earlier rpn stage"),
    (dict(b=dict(mode='fast_rcnn', max_iters=2, proposals='a'), a=dict(mode='rpn', max_iters=2)),
     r"stages\.b: key 'mode'"),
    (dict(a=dict(mode='rpn', max_iters=2, proposals='a')), r"stages\.a: key 'proposals' is for fast_rcnn"),
    (dict(a=dict(mode='rpn', max_iters=2, frozen='backbone')), r"stages\.a: key 'frozen' must be a list"),
    ([dict(name='a', mode='rpn', max_iters=2), dict(name='a', mode='rpn', max_iters=2)],
     r"stages\.a: key 'name': stage 'a' appears twice"),
    (dict(a=dict(name='b', mode='rpn', max_iters=2)), r"stages\.a: key 'name' is 'b'"),
    ({}, 'no stage given'),
])
def test_bad_specs(stages, message):
    with pytest.raises(UserInputError, match=message):
        parse_stages(stages)


def test_typo_in_a_stage_name_from_cfg_options_fails_when_the_hook_is_built():
    """``--cfg-options custom_hooks.0.stages.step1_rnp.max_iters=5`` adds a stage 'step1_rnp'."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_voc.py'))
    cfg.merge_from_dict({'custom_hooks.0.stages.step1_rnp.max_iters': 5})
    with pytest.raises(UserInputError, match=r"stages\.step1_rnp: missing key 'mode'.*typo"):
        HOOKS.build(alternating_hook_cfg(cfg))


def test_stage_iteration_options_set_the_stages_and_their_sum():
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_voc.py'))
    options = stage_iteration_options(cfg, dict(step1_rpn=100, step3_rpn=7))
    assert options == {'custom_hooks.0.stages.step1_rpn.max_iters': 100,
                       'custom_hooks.0.stages.step3_rpn.max_iters': 7, 'train_cfg.max_iters': 100 + 40000 + 7 + 40000}
    cfg.merge_from_dict(options)
    assert HOOKS.build(alternating_hook_cfg(cfg)).total_iters == cfg.train_cfg.max_iters
    with pytest.raises(UserInputError, match="no stage 'step5'"):
        stage_iteration_options(cfg, dict(step5=3))


def test_one_line_override_changes_one_stage():
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_voc.py'))
    cfg.merge_from_dict({'custom_hooks.0.stages.step1_rpn.max_iters': 100})
    hook = HOOKS.build(alternating_hook_cfg(cfg))
    assert [s.max_iters for s in hook.stages] == [100, 40000, 80000, 40000]
    assert hook.total_iters == 160100
