"""What trains in each stage of 4-step alternating training (§3.2): a fresh optimiser and lr
schedule (py-faster-rcnn runs each step as its own Caffe solver, so momentum does not carry over)
and the frozen set (``requires_grad=False``: no gradient, no update, no weight decay).
"""
import copy
import logging
from typing import Dict, List

from mmengine.config import ConfigDict
from mmengine.dist import get_world_size
from mmengine.logging import print_log

from ..utils.user_input_error import UserInputError
from .alternating_stages import StageSpec
from .initial_weights import matches_prefix


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


def set_trainable(model, stage: StageSpec, frozen: List[str], trainable_at_build: Dict[str, bool]) -> None:
    """Freezes the parameters under ``frozen``; the others train if they did at construction."""
    trainable = []
    for name, param in model.named_parameters():
        param.requires_grad = trainable_at_build[name] and not matches_prefix(name, frozen)
        if param.requires_grad:
            trainable.append(name)
    if not trainable:
        raise UserInputError(f"custom_hooks AlternatingTrainingHook stages.{stage.name}: key 'frozen' "
                             'leaves no parameter to train')
    print_log(f'Trainable: {sorted({n.rsplit(".", 1)[0] for n in trainable})}', logger='current',
              level=logging.DEBUG)
