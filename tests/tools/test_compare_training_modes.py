"""tools/compare_training_modes.py scales every mode's iterations alike, from the configs themselves."""
import os.path as osp

from mmengine.config import Config, DictAction

from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg
from tests.tiny import REPO
from tests.tools import load_tool

compare_training_modes = load_tool('compare_training_modes')
MODES, scaled_iters, total_iterations = (compare_training_modes.MODES, compare_training_modes.scaled_iters,
                                         compare_training_modes.total_iterations)


def apply(config, opts):
    cfg = Config.fromfile(osp.join(REPO, config))
    parsed = {}
    for opt in opts:
        key, value = opt.split('=', 1)
        parsed[key] = DictAction._parse_iterable(value)
    cfg.merge_from_dict(parsed)
    return cfg


def total_iters(cfg):
    if alternating_hook_cfg(cfg) is not None:
        return sum(stage.max_iters for stage in alternating_hook_cfg(cfg).stages.values())
    return cfg.train_cfg.max_iters


def test_every_mode_gets_the_same_share_of_its_iterations():
    for _, config in MODES.values():
        assert scaled_iters(config, 1.0) == []
        full = Config.fromfile(osp.join(REPO, config))
        half = apply(config, scaled_iters(config, 0.5))
        assert abs(total_iters(half) - total_iters(full) / 2) <= 4, config
        assert total_iterations(config, 0.5) == total_iters(half)
        if alternating_hook_cfg(half) is not None:
            for stage in alternating_hook_cfg(half).stages.values():
                for sched in stage.get('param_scheduler', []):
                    assert all(m < stage.max_iters for m in sched.get('milestones', [])), config
        else:
            assert half.train_cfg.val_interval == half.train_cfg.max_iters
            for sched in half.param_scheduler:
                assert all(m < half.train_cfg.max_iters for m in sched.get('milestones', [])), config
