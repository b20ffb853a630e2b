"""4-step alternating training (Faster R-CNN §3.2, "4-Step Alternating Training") as a hook on
MMEngine's stock ``IterBasedTrainLoop``.

py-faster-rcnn (``tools/train_faster_rcnn_alt_opt.py``) runs four Caffe processes; this hook runs
the same steps inside one MMEngine run (one process, or one per GPU with ``--launcher pytorch``):

1. train the RPN from the ImageNet-initialised network;
2. train Fast R-CNN, again from ImageNet weights (separate convs), on step-1 proposals;
3. train the RPN layers only, on the step-2 convs, which stay frozen;
4. train the Fast R-CNN layers only (fc6/fc7 from step 2, fresh classifiers), convs still frozen,
   on step-3 proposals. The result shares its convs between RPN (step 3) and detector (step 4).

A config names the steps in ``custom_hooks`` (``engine/alternating_stages.py`` lists a stage's
keys)::

    train_cfg = dict(type='IterBasedTrainLoop', max_iters=240000, val_interval=10**9)
    custom_hooks = [dict(type='AlternatingTrainingHook', stages=dict(step1_rpn=dict(...), ...),
                         offline_proposal_cfg=dict(...))]

The loop's ``max_iters`` is set to the sum of the stages' ``max_iters`` (a config changing one
stage needs nothing else), and the loop's own validation is left to the stages (``evaluate``).
Iterations are counted over the whole run (``Iter [k/total]``, checkpoints ``iter_k.pth``).

At the end of each stage (in ``after_train_iter`` of its last iteration, after the checkpoint
hook) the hook saves a checkpoint of the finished stage, writes the proposals of an RPN stage that
a later stage trains on (offline, ``offline_proposals.py``), evaluates a Fast R-CNN stage that
asks for it, and then sets up the next stage, so that its first batch already comes from its own
dataloader: the model's ``set_stage`` (mode, assigners/samplers), ``reset`` of modules to the
run's initial weights (``<work_dir>/alternating/initial_weights.pth``), a fresh optimiser
(``runner.optim_wrapper``) and lr schedule (``runner.param_schedulers``, which
``ParamSchedulerHook`` steps), the frozen set (``requires_grad=False``: no gradient, no update, no
weight decay), and the stage's training dataloader (batch size, proposals) in place of the loop's.

Proposal files belong to the weights that made them: each records its stage, the iteration and a
fingerprint (SHA-256) of the model's weights at that stage's end; the message hub, saved in every
checkpoint, records which fingerprint the run trained on. An existing file is reused only when it
matches, otherwise regenerated (or, where the producing weights are gone, refused).

``--resume`` (also after ``kill -9``) continues inside the stage of the checkpoint: the stage's
optimiser and schedule are rebuilt in ``after_load_checkpoint``, which MMEngine calls before it
loads the checkpoint's optimiser and scheduler states into ``runner.optim_wrapper`` /
``runner.param_schedulers``; finished stages and valid proposal files are never redone. A
checkpoint whose stage timeline (``stages.json``, also in the checkpoint's meta) differs from the
config's for the stages it has started is refused. Unlike the stock loop, a resumed stage does not
replay the data order of the interrupted one (the loop's fast-forward is skipped, not loaded).
"""
import copy
import hashlib
import json
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmdet.registry import DATASETS, HOOKS
from mmengine.config import ConfigDict
from mmengine.dist import barrier, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, IterBasedTrainLoop, ValLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from ...datasets.offline_proposals_mixin import OfflineProposalsMixin
from ...datasets.proposal_file import read_proposal_meta
from ...utils.atomic_write import atomic_torch_save, atomic_write
from ...utils.user_input_error import UserInputError
from ..alternating_stages import StageSpec, parse_stages, stage_at, total_iters
from ..runner.offline_proposals import generate_proposals
from .atomic_checkpoint_hook import save_checkpoint_atomically

# Message-hub scalars kept across stages (the rest are the previous stage's losses).
KEPT_SCALARS = ('train/lr', 'train/time', 'train/data_time')


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def _leaf_datasets(dataset_cfg: dict, **updates) -> dict:
    """A copy of ``dataset_cfg`` with ``updates`` applied to every leaf dataset (through
    ConcatDataset / RepeatDataset ...); an update of None removes the key."""
    dataset_cfg = copy.deepcopy(dict(dataset_cfg))
    if 'datasets' in dataset_cfg:
        dataset_cfg['datasets'] = [_leaf_datasets(d, **updates) for d in dataset_cfg['datasets']]
    elif 'dataset' in dataset_cfg:
        dataset_cfg['dataset'] = _leaf_datasets(dataset_cfg['dataset'], **updates)
    else:
        for key, value in updates.items():
            if value is None:
                dataset_cfg.pop(key, None)
            else:
                dataset_cfg[key] = copy.deepcopy(value)
    return dataset_cfg


def _leaf_dataset_types(dataset_cfg: dict) -> List[str]:
    if 'datasets' in dataset_cfg:
        return [t for d in dataset_cfg['datasets'] for t in _leaf_dataset_types(d)]
    if 'dataset' in dataset_cfg:
        return _leaf_dataset_types(dataset_cfg['dataset'])
    return [dataset_cfg.get('type')]


def weights_fingerprint(state_dict: Dict[str, torch.Tensor]) -> str:
    """SHA-256 (first 16 hex digits) of the names and bytes of every tensor of a state dict."""
    digest = hashlib.sha256()
    for key, value in sorted(state_dict.items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


class _StageIterator:
    """The training iterator of a stage. ``IterBasedTrainLoop`` fast-forwards its iterator by the
    resumed iteration count (to replay the stock loop's data order); a stage's dataloader starts
    afresh, so those ``skip`` calls are answered without loading any data."""

    def __init__(self, iterator: _InfiniteDataloaderIterator, skip: int = 0) -> None:
        self.iterator = iterator
        self._skip = skip

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
            return None
        return next(self.iterator)


@HOOKS.register_module()
class AlternatingTrainingHook(Hook):
    """Runs the stages of 4-step alternating training on ``IterBasedTrainLoop`` (module docstring).

    Args:
        stages: the stage specs, ``{name: spec}`` in execution order (or a list with names);
            checked by ``parse_stages`` when the hook is built.
        offline_proposal_cfg: RPN settings of the proposals dumped for training (pfr
            ``rpn_generate``); val-set proposals use the model's ``test_cfg.rpn``.
        proposal_train_pipeline / proposal_test_pipeline: data pipelines that load proposals
            (``LoadProposals``); default: the config's top-level variables of these names.
        proposal_pipeline: pipeline used to run the RPN over images (test-style, no flip);
            default: the val dataloader's pipeline.
    """
    # after_train_iter of a stage's last iteration runs after the checkpoint, logger and
    # scheduler hooks have finished that iteration
    priority = 'LOWEST'

    def __init__(self,
                 stages: Union[Dict[str, dict], List[dict]],
                 offline_proposal_cfg: dict,
                 proposal_train_pipeline: Optional[List[dict]] = None,
                 proposal_test_pipeline: Optional[List[dict]] = None,
                 proposal_pipeline: Optional[List[dict]] = None) -> None:
        self.stages = parse_stages(stages)
        self.offline_proposal_cfg = copy.deepcopy(dict(offline_proposal_cfg))
        self.proposal_train_pipeline = proposal_train_pipeline
        self.proposal_test_pipeline = proposal_test_pipeline
        self.proposal_pipeline = proposal_pipeline
        self._active = False  # True in a training run
        self._current: Optional[int] = None
        self._resumed_iter: Optional[int] = None

    # ------------------------------------------------------------------ set-up
    @property
    def total_iters(self) -> int:
        return total_iters(self.stages)

    def _model(self, runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_run(self, runner) -> None:
        # Runner.train() builds its loop before before_run; test/val runs leave it a config.
        self._active = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        if not self._active:
            return
        loop = runner.train_loop
        if not isinstance(loop, IterBasedTrainLoop):
            raise UserInputError(f'AlternatingTrainingHook needs train_cfg type IterBasedTrainLoop, '
                                 f'got {type(loop).__name__}')
        if loop.max_iters != self.total_iters:
            print_log(f'train_cfg.max_iters {loop.max_iters} -> {self.total_iters}, the sum of the '
                      'alternating-training stages', logger='current')
            loop._max_iters = self.total_iters
        # The loop's own validation (every val_interval and at the end) is off: stages evaluate.
        loop.val_begin = self.total_iters + 1
        cfg = runner.cfg
        self.proposal_train_pipeline = self.proposal_train_pipeline or cfg.get('proposal_train_pipeline')
        self.proposal_test_pipeline = self.proposal_test_pipeline or cfg.get('proposal_test_pipeline')
        if any(s.mode == 'fast_rcnn' for s in self.stages) and not (
                self.proposal_train_pipeline and self.proposal_test_pipeline):
            raise UserInputError('AlternatingTrainingHook: fast_rcnn stages need proposal_train_pipeline '
                                 'and proposal_test_pipeline (hook arguments or top-level config variables)')
        model = self._model(runner)
        if not hasattr(model, 'set_stage'):
            raise UserInputError(f'AlternatingTrainingHook needs a model with set_stage (PaperFasterRCNN), '
                                 f'got {type(model).__name__}')
        self._trainable_at_build = {n: p.requires_grad for n, p in model.named_parameters()}
        names = list(self._trainable_at_build)
        for stage in self.stages:
            for key in ('frozen', 'reset'):
                for prefix in getattr(stage, key):
                    if not any(_matches(n, [prefix]) for n in names):
                        raise UserInputError(f'custom_hooks AlternatingTrainingHook stages.{stage.name}: '
                                             f'key {key!r}: no parameters under {prefix!r}')
        self._dataloader_cfg = copy.deepcopy(dict(cfg.train_dataloader))
        self._loader_key = (self._dataloader_cfg['batch_size'], None)  # the loop's own dataloader
        self._cfg = cfg
        if any(s.mode == 'fast_rcnn' for s in self.stages):
            # mmdet's own load_proposals unpickles the file; OfflineProposalsMixin reads our .npz only
            loaders = (('train_dataloader', cfg.train_dataloader), ('val_dataloader', cfg.get('val_dataloader')))
            for where, loader in loaders:
                for name in _leaf_dataset_types(loader['dataset']) if loader else []:
                    dataset_cls = DATASETS.get(name) if isinstance(name, str) else name
                    if dataset_cls is None or not issubclass(dataset_cls, OfflineProposalsMixin):
                        raise UserInputError(f'{where}: 4-step training reads offline proposals '
                                             f'with a dataset class that has OfflineProposalsMixin '
                                             f'(PaperVOCDataset, PaperCocoDataset), not {name}')
        self._can_evaluate = cfg.get('val_dataloader') is not None and cfg.get('val_evaluator') is not None
        self.state_dir = osp.join(runner.work_dir, 'alternating')

    def _timeline(self) -> List[dict]:
        return [s.timeline_entry() for s in self.stages]

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._active:
            checkpoint.setdefault('meta', {})['alternating_stages'] = self._timeline()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On ``--resume``: check the stage timeline and give the runner the optimiser and lr
        schedule of the stage that wrote the checkpoint, into which MMEngine then loads the
        checkpoint's states."""
        if not (self._active and getattr(runner, '_resume', False)):
            return
        meta = checkpoint.get('meta', {})
        iteration = int(meta.get('iter', 0))
        recorded = meta.get('alternating_stages')
        if recorded is None and osp.isfile(osp.join(self.state_dir, 'stages.json')):
            with open(osp.join(self.state_dir, 'stages.json')) as f:
                recorded = json.load(f)
        if recorded is not None:
            self._check_timeline(recorded, iteration)
        index = min(stage_at(self.stages, max(iteration - 1, 0)), len(self.stages) - 1)
        self._build_optimisation(runner, self.stages[index])
        self._resumed_iter = iteration

    def _check_timeline(self, recorded: List[dict], iteration: int) -> None:
        """Refuses to resume when a stage the checkpoint had started changed its place."""
        now = {s.name: s for s in self.stages}
        started = [entry for entry in recorded if entry['begin'] < iteration]
        for entry in started:
            stage = now.get(entry['name'])
            was = f"{entry['mode']}, iterations {entry['begin']}-{entry['end']}"
            problem = None
            if stage is None:
                problem = 'is no longer in the config'
            elif (stage.mode, stage.begin) != (entry['mode'], entry['begin']) or (
                    stage.end != entry['end'] if entry['end'] <= iteration else stage.end <= iteration):
                # a finished stage must keep its end; the current one may not end before the checkpoint
                problem = f'is now {stage.mode}, iterations {stage.begin}-{stage.end}'
            if problem:
                raise UserInputError(
                    f"cannot resume from iteration {iteration}: stage {entry['name']!r} ({was} in the "
                    f'checkpoint) {problem}; restore its settings, or resume from an earlier '
                    'checkpoint, or start a new work dir')
        names = [entry['name'] for entry in started]
        for stage in self.stages:
            if stage.begin < iteration and stage.name not in names:
                raise UserInputError(f'cannot resume from iteration {iteration}: stage {stage.name!r} '
                                     f'(iterations {stage.begin}-{stage.end}) was not in the checkpoint')

    def before_train(self, runner) -> None:
        if not self._active:
            return
        loop = runner.train_loop
        iteration = loop.iter
        if is_main_process():
            atomic_write(osp.join(self.state_dir, 'stages.json'), json.dumps(self._timeline(), indent=1))
        self._initial_weights = self._initial_snapshot(runner, iteration)
        index = stage_at(self.stages, iteration)
        for done, stage in enumerate(self.stages[:index]):
            print_log(f"Stage {done + 1}/{len(self.stages)} '{stage.name}' is finished "
                      f'(iterations {stage.begin}-{stage.end}); skipped', logger='current')
        self._current = index
        if index == len(self.stages):
            return
        stage = self.stages[index]
        if iteration > 0 and iteration == stage.begin:
            # resumed from the checkpoint that ended the previous stage: finish what may be missing
            self._write_proposals_of(runner, index - 1)
        self._start_stage(runner, index, resumed_at=iteration if iteration > stage.begin else None,
                          skip=iteration)

    # ------------------------------------------------------------ boundaries
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self._active or self._current is None or self._current >= len(self.stages):
            return
        stage = self.stages[self._current]
        if batch_idx + 1 != stage.end:
            return
        self._save_stage_checkpoint(runner, stage)
        print_log(f"===== Stage {self._current + 1}/{len(self.stages)} '{stage.name}' done =====",
                  logger='current')
        self._write_proposals_of(runner, self._current)
        if stage.mode == 'fast_rcnn' and stage.evaluate:
            self._evaluate(runner, stage)
        self._current += 1
        if self._current < len(self.stages):
            self._start_stage(runner, self._current)

    def after_train(self, runner) -> None:
        if self._active and runner.train_loop.iter >= self.total_iters:
            self._save_final_model(runner)

    def _start_stage(self, runner, index: int, resumed_at: Optional[int] = None, skip: int = 0) -> None:
        stage = self.stages[index]
        model = self._model(runner)
        print_log(f"===== Stage {index + 1}/{len(self.stages)} '{stage.name}' (mode {stage.mode}): "
                  f'iterations {stage.begin}-{stage.end}'
                  f"{f', resumed at {resumed_at}' if resumed_at is not None else ''} =====", logger='current')
        train_file = self._proposals_for(runner, stage)['train'] if stage.mode == 'fast_rcnn' else None
        if resumed_at is None:
            self._reset_modules(model, stage)
        unused = model.set_stage(stage.mode, stage.model_train_cfg)
        if resumed_at is None:
            # Fresh optimiser and lr schedule for every stage (momentum does not carry over).
            self._build_optimisation(runner, stage)
        self._set_trainable(model, stage, list(stage.frozen) + list(unused))
        loop = runner.train_loop
        previous = loop.dataloader
        loop.dataloader = self._stage_dataloader(runner, stage, train_file)
        iterator = loop.dataloader_iterator
        iterator = iterator.iterator if isinstance(iterator, _StageIterator) else iterator
        if loop.dataloader is not previous or not isinstance(iterator, _InfiniteDataloaderIterator):
            iterator = _InfiniteDataloaderIterator(loop.dataloader)
        # The loop's own dataloader keeps the iterator the loop made: a second iterator over a
        # loader with persistent workers resets the first one's workers (no batch ever arrives).
        loop.dataloader_iterator = _StageIterator(iterator, skip)
        done = (resumed_at or stage.begin) - stage.begin
        runner.optim_wrapper.initialize_count_status(model, done, stage.max_iters)
        for key in [k for k in runner.message_hub.log_scalars
                    if k.startswith('train/') and k not in KEPT_SCALARS]:
            runner.message_hub.log_scalars.pop(key)
            # also from the keys a checkpoint lists for resuming (else every resume warns
            # "resumed key: ... is not defined in message_hub")
            runner.message_hub._resumed_keys.pop(key, None)
        runner.message_hub.update_info('alternating_stage', stage.name)

    # ------------------------------------------------------------ weights
    def _initial_snapshot(self, runner, iteration: int) -> Dict[str, torch.Tensor]:
        """The weights the run starts from (ImageNet or initialisation), kept for ``reset``."""
        path = osp.join(self.state_dir, 'initial_weights.pth')
        model = self._model(runner)
        if iteration == 0:
            state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            if is_main_process():
                atomic_torch_save(state, path)
            barrier()
            return state
        if not osp.isfile(path):
            raise UserInputError(
                f'{path} is missing: it holds the initial weights that later stages restore '
                f'(reset); resume from a work dir where this run started, or start anew')
        return torch.load(path, map_location='cpu', weights_only=True)

    def _reset_modules(self, model, stage: StageSpec) -> None:
        if not stage.reset:
            return
        state = model.state_dict()
        with torch.no_grad():
            for key, value in self._initial_weights.items():
                if _matches(key, stage.reset):
                    state[key].copy_(value)
        print_log(f'Restored the initial weights of {stage.reset}', logger='current')

    def _build_optimisation(self, runner, stage: StageSpec) -> None:
        """The config's ``optim_wrapper`` with the stage's overrides, over every parameter
        trainable at construction whatever the stage freezes (so that its parameter groups match
        those of any checkpoint's optimiser state), lr scaled by ``--auto-scale-lr``, and the
        stage's lr schedule (stage-local iterations)."""
        model = self._model(runner)
        for name, param in model.named_parameters():
            param.requires_grad = self._trainable_at_build[name]
        optim_cfg = ConfigDict(copy.deepcopy(runner.cfg.optim_wrapper))
        optim_cfg.merge(stage.optim_wrapper)  # mmengine's config merge (``_delete_`` too)
        runner.optim_wrapper = runner.build_optim_wrapper(optim_cfg)
        self._scale_lr(runner, stage)
        schedulers = [dict(s, end=s.get('end', stage.max_iters)) for s in stage.param_scheduler]
        runner.param_schedulers = runner.build_param_scheduler(schedulers) if schedulers else None

    def _scale_lr(self, runner, stage: StageSpec) -> None:
        """mmengine's linear scaling rule (``auto_scale_lr``, ``--auto-scale-lr``) per stage: lr x
        (processes x the stage's batch size) / (its ``base_batch_size`` or the config's)."""
        auto_scale_lr = runner.auto_scale_lr
        if not auto_scale_lr or not auto_scale_lr.get('enable', False):
            return
        base = stage.base_batch_size or auto_scale_lr.get('base_batch_size')
        if not base:
            raise UserInputError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        batch = stage.batch_size or self._dataloader_cfg['batch_size']
        ratio = get_world_size() * batch / base
        for group in runner.optim_wrapper.optimizer.param_groups:
            group['lr'] = group['lr'] * ratio
        print_log(f"Stage '{stage.name}': auto_scale_lr: {get_world_size()} process(es) x {batch} "
                  f'images for a base batch of {base}: lr x {ratio:g}', logger='current')

    def _set_trainable(self, model, stage: StageSpec, frozen: List[str]) -> None:
        trainable = []
        for name, param in model.named_parameters():
            param.requires_grad = self._trainable_at_build[name] and not _matches(name, frozen)
            if param.requires_grad:
                trainable.append(name)
        if not trainable:
            raise UserInputError(f'custom_hooks AlternatingTrainingHook stages.{stage.name}: key '
                                 f"'frozen' leaves no parameter to train")
        print_log(f'Trainable: {sorted({n.rsplit(".", 1)[0] for n in trainable})}',
                  logger='current', level=logging.DEBUG)

    # ---------------------------------------------------------- proposals
    def _proposal_files(self, rpn_stage: str) -> Dict[str, str]:
        folder = osp.join(self.state_dir, 'proposals')
        return {split: osp.join(folder, f'{rpn_stage}_{split}.npz') for split in ('train', 'val')}

    def _needed_splits(self, rpn_stage: str) -> List[str]:
        users = [s for s in self.stages if s.mode == 'fast_rcnn' and s.proposals == rpn_stage]
        if not users:
            return []
        evaluated = any(s.evaluate for s in users) and self._can_evaluate
        return ['train', 'val'] if evaluated else ['train']

    @staticmethod
    def _file_matches(path: str, stage: str, fingerprint: Optional[str]) -> bool:
        if fingerprint is None or not osp.isfile(path):
            return False
        try:
            meta = read_proposal_meta(path)
        except UserInputError as e:
            print_log(f'{e}: not used', logger='current', level=logging.WARNING)
            return False
        return meta.get('stage') == stage and meta.get('weights') == fingerprint

    def _write_proposals_of(self, runner, index: int) -> None:
        """At the end of an RPN stage that a later stage trains on, with its final weights: its
        proposal files, reused only if they were made by these very weights."""
        stage = self.stages[index]
        splits = self._needed_splits(stage.name)
        if stage.mode != 'rpn' or not splits:
            return
        model = self._model(runner)
        fingerprint = weights_fingerprint(model.state_dict())
        files = self._proposal_files(stage.name)
        meta = dict(stage=stage.name, iter=stage.end, weights=fingerprint)
        stale = [split for split in splits if not self._file_matches(files[split], stage.name, fingerprint)]
        barrier()  # every process has decided before any file is rewritten
        for split in splits:
            if split not in stale:
                print_log(f"Reusing the {split}-set proposals of stage '{stage.name}' (same weights): "
                          f'{files[split]}', logger='current')
            elif split == 'train':
                generate_proposals(runner, self._proposal_dataloader(self._dataloader_cfg['dataset']),
                                   self.offline_proposal_cfg, files[split],
                                   f"training-set proposals of stage '{stage.name}'", meta)
            else:
                generate_proposals(runner, self._proposal_dataloader(self._cfg.val_dataloader['dataset']),
                                   model.test_cfg.rpn, files[split],
                                   f"val-set proposals of stage '{stage.name}'", meta)
        made = dict(runner.message_hub.get_info('alternating_proposals') or {})
        made[stage.name] = fingerprint
        runner.message_hub.update_info('alternating_proposals', made)

    def _proposals_for(self, runner, stage: StageSpec) -> Dict[str, Optional[str]]:
        """The proposal files a Fast R-CNN stage trains / evaluates on, which must come from the
        weights its source stage ended with in this run (recorded in the message hub)."""
        source = self.stages[[s.name for s in self.stages].index(stage.proposals)]
        fingerprint = (runner.message_hub.get_info('alternating_proposals') or {}).get(source.name)
        files = self._proposal_files(source.name)
        out = {}
        for split in self._needed_splits(source.name):
            if not self._file_matches(files[split], source.name, fingerprint):
                raise UserInputError(
                    f"stage {stage.name!r} trains on the proposals of stage {source.name!r}, but "
                    f'{files[split]} is missing or was not made by the weights that stage ended with '
                    f'in this run, which are no longer loaded; resume from the checkpoint at the end '
                    f'of stage {source.name!r} (iter_{source.end}.pth) to regenerate them')
            out[split] = files[split]
        return dict(train=out.get('train'), val=out.get('val'))

    def _proposal_dataloader(self, dataset_cfg: dict) -> dict:
        pipeline = self.proposal_pipeline or self._cfg.val_dataloader.dataset.pipeline
        return dict(batch_size=1, num_workers=self._dataloader_cfg.get('num_workers', 0),
                    persistent_workers=False, sampler=dict(type='DefaultSampler', shuffle=False),
                    dataset=_leaf_datasets(dataset_cfg, pipeline=pipeline, test_mode=True,
                                           proposal_file=None))

    def _stage_dataloader(self, runner, stage: StageSpec, proposal_file: Optional[str]):
        cfg = copy.deepcopy(self._dataloader_cfg)
        if stage.batch_size:
            cfg['batch_size'] = stage.batch_size
        if proposal_file is not None:
            cfg['dataset'] = _leaf_datasets(cfg['dataset'], proposal_file=osp.abspath(proposal_file),
                                            pipeline=self.proposal_train_pipeline)
        key = (cfg['batch_size'], proposal_file)
        if key == self._loader_key:  # the loop's current dataloader is this one
            return runner.train_loop.dataloader
        self._loader_key = key
        return runner.build_dataloader(cfg, seed=runner.seed)

    # ------------------------------------------------- checkpoints, eval
    def _save_stage_checkpoint(self, runner, stage: StageSpec) -> None:
        """Every stage ends with a checkpoint (unless the checkpoint hook has just written it)."""
        filename = f'iter_{stage.end}.pth'
        last = runner.message_hub.get_info('last_ckpt')
        if last is not None and osp.basename(last) == filename and osp.isfile(last):
            return
        save_checkpoint_atomically(runner, runner.work_dir, filename, save_optimizer=True,
                                   save_param_scheduler=True, by_epoch=False)

    def _evaluate(self, runner, stage: StageSpec) -> dict:
        cfg = runner.cfg
        val_file = self._proposals_for(runner, stage)['val']
        if val_file is None:  # no val set in the config
            return {}
        dataloader = copy.deepcopy(dict(cfg.val_dataloader))
        dataloader['dataset'] = _leaf_datasets(dataloader['dataset'], proposal_file=osp.abspath(val_file),
                                               pipeline=self.proposal_test_pipeline)
        print_log(f"Evaluating stage '{stage.name}' on the val set with the proposals of "
                  f"stage '{stage.proposals}'", logger='current')
        metrics = ValLoop(runner, dataloader, copy.deepcopy(cfg.val_evaluator)).run()
        runner.message_hub.update_info(f'alternating_metrics/{stage.name}', dict(metrics))
        return metrics

    def _save_final_model(self, runner) -> None:
        """The final shared-conv Faster R-CNN (weights only), beside the last checkpoint."""
        if is_main_process():
            path = osp.join(runner.work_dir, 'faster_rcnn_final.pth')
            model = self._model(runner)
            atomic_torch_save(
                {'meta': {'iter': runner.train_loop.iter, 'stages': [s.name for s in self.stages],
                          'dataset_meta': getattr(runner.train_dataloader.dataset, 'metainfo', None)},
                 'state_dict': {k: v.detach().cpu() for k, v in model.state_dict().items()}}, path)
            print_log(f'Final model: {path}', logger='current')
        barrier()
