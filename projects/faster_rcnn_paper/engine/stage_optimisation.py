"""A fresh optimiser and lr schedule for each stage of 4-step alternating training (§3.2:
py-faster-rcnn runs each step as its own Caffe solver, so momentum does not carry over).
"""
import copy
from typing import Dict

from mmengine.config import ConfigDict
from mmengine.dist import get_world_size
from mmengine.logging import print_log

from ..utils.user_input_error import UserInputError
from .alternating_stages import StageSpec


def build_stage_optimisation(runner, model, stage: StageSpec, trainable_at_build: Dict[str, bool],
                             default_batch_size: int) -> None:
    """Gives ``runner`` the config's ``optim_wrapper`` with the stage's overrides, over every
    parameter trainable at construction whatever the stage freezes (so that its parameter groups
    match those of any checkpoint's optimiser state), lr scaled by ``--auto-scale-lr``, and the
    stage's lr schedule (stage-local iterations; ``ParamSchedulerHook`` steps it)."""
    for name, param in model.named_parameters():
        param.requires_grad = trainable_at_build[name]
    optim_cfg = ConfigDict(copy.deepcopy(runner.cfg.optim_wrapper))
    optim_cfg.merge(stage.optim_wrapper)  # mmengine's config merge (``_delete_`` too)
    runner.optim_wrapper = runner.build_optim_wrapper(optim_cfg)
    _scale_lr(runner, stage, default_batch_size)
    schedulers = [dict(s, end=s.get('end', stage.max_iters)) for s in stage.param_scheduler]
    runner.param_schedulers = runner.build_param_scheduler(schedulers) if schedulers else None


def _scale_lr(runner, stage: StageSpec, default_batch_size: int) -> None:
    """mmengine's linear scaling rule (``auto_scale_lr``, ``--auto-scale-lr``) per stage: lr x
    (processes x the stage's batch size) / (its ``base_batch_size`` or the config's)."""
    auto_scale_lr = runner.auto_scale_lr
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return
    base = stage.base_batch_size or auto_scale_lr.get('base_batch_size')
    if not base:
        raise UserInputError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
    batch = stage.batch_size or default_batch_size
    ratio = get_world_size() * batch / base
    for group in runner.optim_wrapper.optimizer.param_groups:
        group['lr'] = group['lr'] * ratio
    print_log(f"Stage '{stage.name}': auto_scale_lr: {get_world_size()} process(es) x {batch} "
              f'images for a base batch of {base}: lr x {ratio:g}', logger='current')
