"""The stages of 4-step alternating training (Faster R-CNN §3.2) as checked, typed specs.

py-faster-rcnn's ``tools/train_faster_rcnn_alt_opt.py`` hard-codes its four steps; here a config
lists them, in execution order, as ``stages=dict(<name>=dict(<spec>), ...)`` (or a list of specs
that each carry a ``name``) in the ``AlternatingTrainingHook`` entry of ``custom_hooks``. A spec:

* ``mode``: ``'rpn'`` (train the RPN, steps 1 and 3) or ``'fast_rcnn'`` (train the detector on
  fixed proposals, steps 2 and 4), see ``PaperFasterRCNN.set_stage``;
* ``max_iters``: the stage's iterations (> 0); the run's total is their sum;
* ``batch_size``: images per process and iteration (default: the config's train_dataloader);
* ``base_batch_size``: the batch the stage's lr was set for, used by ``--auto-scale-lr``
  (default: ``auto_scale_lr.base_batch_size``);
* ``param_scheduler``: the stage's lr schedule, in stage-local iterations;
* ``optim_wrapper``: overrides merged into the config's ``optim_wrapper`` for this stage;
* ``frozen``: module-name prefixes that do not train in this stage;
* ``reset``: module-name prefixes restored to the run's initial (ImageNet) weights at its start;
* ``model_train_cfg``: overrides merged into the model's ``train_cfg`` for this stage;
* ``proposals`` (fast_rcnn): the earlier rpn stage whose proposals it trains on (default: the
  latest); ``evaluate`` (fast_rcnn, default True): evaluate on the val set when the stage ends.

:func:`parse_stages` turns the config's form into :class:`StageSpec` objects and refuses a bad
spec with a :class:`UserInputError` naming the stage and the key, before anything trains.
"""
import copy
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

from ..utils.user_input_error import UserInputError

MODES = ('rpn', 'fast_rcnn')
WHERE = 'custom_hooks AlternatingTrainingHook stages'


@dataclass
class StageSpec:
    """One stage of alternating training (see module docstring); ``begin``/``end`` are its
    iterations within the whole run (``begin`` included, ``end`` excluded)."""
    name: str
    mode: str
    max_iters: int
    begin: int = 0
    batch_size: Optional[int] = None
    base_batch_size: Optional[int] = None
    param_scheduler: List[dict] = field(default_factory=list)
    optim_wrapper: dict = field(default_factory=dict)
    frozen: List[str] = field(default_factory=list)
    reset: List[str] = field(default_factory=list)
    model_train_cfg: dict = field(default_factory=dict)
    proposals: Optional[str] = None
    evaluate: bool = False

    @property
    def end(self) -> int:
        return self.begin + self.max_iters

    def timeline_entry(self) -> dict:
        """What ``stages.json`` and checkpoints record of the stage."""
        return dict(name=self.name, mode=self.mode, begin=self.begin, end=self.end)


KEYS = {f for f in StageSpec.__dataclass_fields__ if f != 'begin'}
_LISTS = ('param_scheduler', 'frozen', 'reset')
_DICTS = ('optim_wrapper', 'model_train_cfg')


def _plain(value):
    """ConfigDict / tuple -> dict / list, recursively (a spec's values are copied)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def parse_stages(stages: Union[Dict[str, dict], Sequence[dict]]) -> List[StageSpec]:
    """The config's stages (``{name: spec}`` in execution order, or a list of specs with a
    ``name`` each), checked, with defaults filled in and iteration bounds set."""
    if isinstance(stages, dict):
        named = []
        for name, spec in stages.items():
            if not isinstance(spec, dict):
                raise UserInputError(f'{WHERE}.{name}: a stage is a dict, got {spec!r}')
            if spec.get('name', name) != name:
                raise UserInputError(f"{WHERE}.{name}: key 'name' is {spec['name']!r}")
            named.append(dict(spec, name=name))
        stages = named
    elif not isinstance(stages, (list, tuple)):
        raise UserInputError(f'{WHERE}: expected a dict of stages, got {type(stages).__name__}')
    if not stages:
        raise UserInputError(f'{WHERE}: no stage given')
    parsed: List[StageSpec] = []
    begin = 0
    for i, raw in enumerate(stages):
        raw = _plain(raw)
        name = raw.get('name', f'#{i + 1}')
        where = f'{WHERE}.{name}'
        unknown = sorted(set(raw) - KEYS)
        if unknown:
            raise UserInputError(f'{where}: unknown key {unknown[0]!r}; allowed: {sorted(KEYS)}')
        for key in ('mode', 'max_iters'):
            if key not in raw:
                raise UserInputError(
                    f'{where}: missing key {key!r} (a stage name not among the config\'s stages '
                    f"is a new stage: is {name!r} a typo? stages before it: {[s.name for s in parsed]})")
        if raw['mode'] not in MODES:
            raise UserInputError(f"{where}: key 'mode' must be one of {list(MODES)}, got {raw['mode']!r}")
        for key in ('max_iters', 'batch_size', 'base_batch_size'):
            if key in raw and not _positive_int(raw[key]):
                raise UserInputError(f'{where}: key {key!r} must be a positive int, got {raw[key]!r}')
        if name in [s.name for s in parsed]:
            raise UserInputError(f"{where}: key 'name': stage {name!r} appears twice")
        for key in _LISTS:
            if not isinstance(raw.get(key, []), list):
                raise UserInputError(f'{where}: key {key!r} must be a list, got {raw[key]!r}')
        for key in _DICTS:
            if not isinstance(raw.get(key, {}), dict):
                raise UserInputError(f'{where}: key {key!r} must be a dict, got {raw[key]!r}')
        rpn_stages = [s.name for s in parsed if s.mode == 'rpn']
        if raw['mode'] == 'fast_rcnn':
            if not rpn_stages:
                raise UserInputError(f"{where}: key 'mode': a fast_rcnn stage needs an earlier rpn "
                                     'stage to make its proposals')
            raw.setdefault('proposals', rpn_stages[-1])
            if raw['proposals'] not in rpn_stages:
                raise UserInputError(f"{where}: key 'proposals' is {raw['proposals']!r}, which names no "
                                     f'earlier rpn stage (earlier rpn stages: {rpn_stages})')
            raw.setdefault('evaluate', True)
        else:
            for key in ('proposals', 'evaluate'):
                if raw.get(key):
                    raise UserInputError(f'{where}: key {key!r} is for fast_rcnn stages only')
        spec = StageSpec(begin=begin, **dict(raw, name=name))
        spec.evaluate = bool(spec.evaluate)
        parsed.append(spec)
        begin = spec.end
    return parsed


def check_module_names(stages: Sequence[StageSpec], parameter_names: List[str]) -> None:
    """Refuses a ``frozen`` / ``reset`` prefix that names no parameter of the model."""
    for stage in stages:
        for key in ('frozen', 'reset'):
            for prefix in getattr(stage, key):
                if not any(n == prefix or n.startswith(prefix + '.') for n in parameter_names):
                    raise UserInputError(f'{WHERE}.{stage.name}: key {key!r}: no parameters under {prefix!r}')


def total_iters(stages: Sequence[StageSpec]) -> int:
    return stages[-1].end if stages else 0


def stage_at(stages: Sequence[StageSpec], iteration: int) -> int:
    """Index of the stage that trains iteration ``iteration`` (0-based); ``len(stages)`` once
    every stage is done."""
    for index, stage in enumerate(stages):
        if iteration < stage.end:
            return index
    return len(stages)


def alternating_hook_cfg(cfg) -> Optional[dict]:
    """The ``AlternatingTrainingHook`` entry of a config's ``custom_hooks`` (None if absent):
    tools use it to read or shrink the stages of a 4-step config."""
    for hook in cfg.get('custom_hooks', None) or []:
        if hook.get('type') in ('AlternatingTrainingHook', 'mmdet.AlternatingTrainingHook'):
            return hook
    return None


def stage_iteration_options(cfg, iterations: Dict[str, int]) -> Dict[str, int]:
    """``--cfg-options`` (key -> value) that give the stages named in ``iterations`` those
    ``max_iters`` and the loop their new sum (``train_cfg.max_iters``, which the hook checks):
    how tools shorten or scale a 4-step config."""
    hook = alternating_hook_cfg(cfg)
    if hook is None:
        raise UserInputError('the config has no AlternatingTrainingHook in custom_hooks')
    prefix = f'custom_hooks.{list(cfg.custom_hooks).index(hook)}.stages'
    unknown = sorted(set(iterations) - set(hook.stages))
    if unknown:
        raise UserInputError(f'{WHERE}: no stage {unknown[0]!r} (stages: {list(hook.stages)})')
    options = {f'{prefix}.{name}.max_iters': n for name, n in iterations.items()}
    stages = {name: dict(spec, max_iters=iterations.get(name, spec['max_iters']))
              for name, spec in hook.stages.items()}
    options['train_cfg.max_iters'] = total_iters(parse_stages(stages))
    return options
