"""4-step alternating training (Faster R-CNN §3.2, "4-Step Alternating Training"), in one run.

py-faster-rcnn (``tools/train_faster_rcnn_alt_opt.py``) runs four Caffe processes; this loop runs
the same steps inside one MMEngine run (one process, or one per GPU with ``--launcher pytorch``):

1. train the RPN from the ImageNet-initialised network;
2. train Fast R-CNN, again from ImageNet weights (separate convs), on step-1 proposals;
3. train the RPN layers only, on the step-2 convs, which stay frozen;
4. train the Fast R-CNN layers only (fc6/fc7 from step 2, fresh classifiers), convs still frozen,
   on step-3 proposals. The result shares its convs between RPN (step 3) and detector (step 4).

The model is one :class:`PaperFasterRCNN` holding backbone, RPN and RoI head throughout.
``train_cfg.stages`` maps each stage's name to its spec, in execution order (so that a config
inheriting ours overrides one stage with ``train_cfg = dict(stages=dict(step1_rpn=dict(
max_iters=100)))``, or ``--cfg-options train_cfg.stages.step1_rpn.max_iters=100``; a list of
specs with a ``name`` each is accepted too). A stage says what its step does:

* ``mode``: ``'rpn'`` or ``'fast_rcnn'`` (the model's ``train_mode``); the head a mode does not
  use is frozen for that stage;
* ``max_iters``, ``param_scheduler`` (stage-local iterations), ``batch_size``, and
  ``optim_wrapper`` (overrides merged into the config's ``optim_wrapper`` for this stage);
* ``frozen``: module-name prefixes that do not train (parameters frozen at construction, such as
  VGG-16's conv1/conv2, stay frozen in every stage);
* ``reset``: module-name prefixes restored, at the stage start, to the weights the run started
  from (ImageNet / initialisation), saved once to ``<work_dir>/alternating/initial_weights.pth``;
* ``model_train_cfg``: overrides merged into the model's ``train_cfg`` for this stage (e.g. 64
  RoIs per image with 2 images per batch in the Fast R-CNN steps);
* ``proposals`` (fast_rcnn stages): the name of the RPN stage whose proposals to train on
  (default: the latest one before it); ``evaluate``: evaluate the detector on the val set with
  that stage's test proposals when the stage ends.

Each stage starts a fresh optimiser (``optim_wrapper``) and lr schedule. Frozen parameters get no
gradient (``requires_grad=False``), hence no update and no weight decay. Before a Fast R-CNN
stage, proposals for the training set (``offline_proposal_cfg``) and the val set (the model's
``test_cfg.rpn``) are generated with the RPN of the source stage (see ``offline_proposals.py``).

Iterations are counted over the whole run (``Iter [k/total]`` in the log; checkpoints
``iter_k.pth``), and every stage ends with a checkpoint. ``--resume`` continues inside the stage
of the checkpoint with its optimiser, schedule and frozen set, reuses finished proposal files and
never re-runs a finished stage. Unlike mmengine's ``IterBasedTrainLoop``, a resumed stage does not
replay the data order of the interrupted one.
"""
import copy
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmdet.registry import LOOPS, TASK_UTILS
from mmengine.config import ConfigDict
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, ValLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from ..hooks.atomic_checkpoint_hook import save_checkpoint_atomically, write_text_atomically
from .offline_proposals import generate_proposals

STAGE_KEYS = {'name', 'mode', 'max_iters', 'param_scheduler', 'optim_wrapper', 'batch_size',
              'frozen', 'reset', 'model_train_cfg', 'proposals', 'evaluate'}
# Head that a training mode does not use, frozen for its stages.
UNUSED_IN_MODE = {'rpn': 'roi_head', 'fast_rcnn': 'rpn_head'}
# Message-hub scalars kept across stages (the rest are the previous stage's losses).
KEPT_SCALARS = ('train/lr', 'train/time', 'train/data_time')


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def _map_datasets(dataset_cfg: dict, fn) -> dict:
    """Applies ``fn`` to every leaf dataset config (through ConcatDataset / RepeatDataset ...)."""
    if 'datasets' in dataset_cfg:
        dataset_cfg['datasets'] = [_map_datasets(d, fn) for d in dataset_cfg['datasets']]
        return dataset_cfg
    if 'dataset' in dataset_cfg:
        dataset_cfg['dataset'] = _map_datasets(dataset_cfg['dataset'], fn)
        return dataset_cfg
    return fn(dataset_cfg)


def _merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` merged in recursively (both left unchanged)."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@LOOPS.register_module()
class AlternatingTrainLoop(BaseLoop):
    """Runs the stages of 4-step alternating training in order (see module docstring).

    Args:
        runner: the MMEngine runner.
        dataloader: the training dataloader config (gt only, as for the RPN stages); Fast R-CNN
            stages use it with ``proposal_train_pipeline`` and their stage's proposal file.
        stages: the stage specs, ``{name: spec}`` in execution order (or a list with names).
        offline_proposal_cfg: RPN settings of the proposals dumped for training.
        proposal_train_pipeline / proposal_test_pipeline: data pipelines that load proposals
            (``LoadProposals``) and transform them with the image (``ProposalBroadcaster``);
            default: the config's top-level variables of these names.
        proposal_pipeline: pipeline used to run the RPN over images (test-style, no flip);
            defaults to the val dataloader's pipeline.
    """

    def __init__(self,
                 runner,
                 dataloader: dict,
                 stages: Union[Dict[str, dict], List[dict]],
                 offline_proposal_cfg: dict,
                 proposal_train_pipeline: Optional[List[dict]] = None,
                 proposal_test_pipeline: Optional[List[dict]] = None,
                 proposal_pipeline: Optional[List[dict]] = None) -> None:
        self._runner = runner
        self._dataloader_cfg = copy.deepcopy(dict(dataloader))
        self.stages = self._check_stages(stages)
        self.proposal_train_pipeline = proposal_train_pipeline or runner.cfg.get('proposal_train_pipeline')
        self.proposal_test_pipeline = proposal_test_pipeline or runner.cfg.get('proposal_test_pipeline')
        if any(s['mode'] == 'fast_rcnn' for s in self.stages) and not (
                self.proposal_train_pipeline and self.proposal_test_pipeline):
            raise ValueError('Fast R-CNN stages need proposal_train_pipeline and '
                             'proposal_test_pipeline (in train_cfg or at the top of the config)')
        self.offline_proposal_cfg = ConfigDict(offline_proposal_cfg)
        self.proposal_pipeline = proposal_pipeline
        self.bounds = []
        start = 0
        for stage in self.stages:
            self.bounds.append((start, start + stage['max_iters']))
            start += stage['max_iters']
        self._max_iters = start
        self._max_epochs = 1
        self._epoch = 0
        self._iter = 0
        self.stop_training = False
        self.state_dir = osp.join(runner.work_dir, 'alternating')
        # Built now because hooks read runner.train_dataloader before training starts.
        self.dataloader = runner.build_dataloader(self._dataloader_cfg, seed=runner.seed)
        if hasattr(self.dataloader.dataset, 'metainfo'):
            runner.visualizer.dataset_meta = self.dataloader.dataset.metainfo

    @staticmethod
    def _check_stages(stages: Union[Dict[str, dict], List[dict]]) -> List[dict]:
        if isinstance(stages, dict):  # {name: spec}, in execution order
            named = []
            for name, spec in stages.items():
                if spec.get('name', name) != name:
                    raise ValueError(f"train_cfg.stages.{name}: its name is {spec['name']!r}")
                named.append(dict(spec, name=name))
            stages = named
        checked, rpn_seen = [], []
        for i, stage in enumerate(stages):
            stage = dict(stage)
            where = f"train_cfg.stages ({stage.get('name', f'#{i}')})"
            unknown = set(stage) - STAGE_KEYS
            if unknown:
                raise ValueError(f'{where}: unknown keys {sorted(unknown)}; allowed: {sorted(STAGE_KEYS)}')
            for key in ('name', 'mode', 'max_iters'):
                if key not in stage:
                    raise ValueError(f'{where}: missing {key!r}')
            if stage['mode'] not in UNUSED_IN_MODE:
                raise ValueError(f"{where}: mode must be 'rpn' or 'fast_rcnn', got {stage['mode']!r}")
            if not isinstance(stage['max_iters'], int) or stage['max_iters'] < 1:
                raise ValueError(f"{where}: max_iters must be a positive int, got {stage['max_iters']!r}")
            if stage['name'] in [s['name'] for s in checked]:
                raise ValueError(f"{where}: duplicate stage name {stage['name']!r}")
            stage.setdefault('param_scheduler', [])
            stage.setdefault('frozen', [])
            stage.setdefault('reset', [])
            stage.setdefault('model_train_cfg', {})
            stage.setdefault('optim_wrapper', {})
            if stage['mode'] == 'rpn':
                rpn_seen.append(stage['name'])
            else:
                if not rpn_seen:
                    raise ValueError(f'{where}: a fast_rcnn stage needs an earlier rpn stage for proposals')
                stage.setdefault('proposals', rpn_seen[-1])
                if stage['proposals'] not in rpn_seen:
                    raise ValueError(f"{where}: proposals={stage['proposals']!r} names no earlier rpn stage")
                stage.setdefault('evaluate', True)
            checked.append(stage)
        if not checked:
            raise ValueError('train_cfg.stages is empty')
        return checked

    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    # ------------------------------------------------------------------ run
    def run(self):
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        self._trainable_at_build = {n: p.requires_grad for n, p in self.model.named_parameters()}
        self._write_timeline()
        self._initial_weights = self._initial_snapshot()
        for index, stage in enumerate(self.stages):
            start, end = self.bounds[index]
            if self._iter >= end:
                print_log(f"Stage {index + 1}/{len(self.stages)} '{stage['name']}' is finished "
                          f'(iterations {start}-{end}); skipped', logger='current')
                continue
            self._run_stage(index, stage, resumed=self._iter > start)
            if self.stop_training:
                break
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        if not self.stop_training:
            self._save_final_model()
        return self.runner.model

    def _write_timeline(self) -> None:
        """``<work_dir>/alternating/stages.json``: each stage's name, mode and iterations."""
        if is_main_process():
            os.makedirs(self.state_dir, exist_ok=True)
            timeline = [dict(name=s['name'], mode=s['mode'], begin=b, end=e)
                        for s, (b, e) in zip(self.stages, self.bounds)]
            with open(osp.join(self.state_dir, 'stages.json'), 'w') as f:
                json.dump(timeline, f, indent=1)

    def _run_stage(self, index: int, stage: dict, resumed: bool) -> None:
        runner = self.runner
        start, end = self.bounds[index]
        print_log(f"===== Stage {index + 1}/{len(self.stages)} '{stage['name']}' "
                  f"(mode {stage['mode']}): iterations {start}-{end}"
                  f"{f', resumed at {self._iter}' if resumed else ''} =====", logger='current')
        if not resumed:
            self._reset_modules(stage['reset'])
        self.model.train_mode = stage['mode']
        self._apply_model_train_cfg(stage['model_train_cfg'])
        if not resumed:
            # Fresh optimiser and lr schedule for every stage (momentum does not carry over).
            runner.optim_wrapper = self._build_optim_wrapper(stage['optim_wrapper'])
            runner.param_schedulers = runner.build_param_scheduler(
                copy.deepcopy(stage['param_scheduler'])) if stage['param_scheduler'] else None
        else:
            self._check_resumed_schedulers(stage)
        self._set_trainable(stage)
        if stage['mode'] == 'fast_rcnn':
            train_props, val_props = self._ensure_proposals(index, stage, resumed)
            self.dataloader = self._stage_dataloader(stage, train_props)
        else:
            val_props = None
            self.dataloader = self._stage_dataloader(stage, None)
        runner.optim_wrapper.initialize_count_status(self.model, self._iter - start, end - start)
        for key in [k for k in runner.message_hub.log_scalars if k.startswith('train/')
                    and k not in KEPT_SCALARS]:
            runner.message_hub.log_scalars.pop(key)
        runner.message_hub.update_info('alternating_stage', stage['name'])
        iterator = _InfiniteDataloaderIterator(self.dataloader)
        while self._iter < end and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(iterator))
        if self.stop_training:
            return
        self._save_stage_checkpoint()
        print_log(f"===== Stage {index + 1}/{len(self.stages)} '{stage['name']}' done =====",
                  logger='current')
        if stage['mode'] == 'fast_rcnn' and stage['evaluate']:
            self._evaluate(stage, val_props)

    def _check_resumed_schedulers(self, stage: dict) -> None:
        """On resume the runner restores the schedulers into those of the top-level
        ``param_scheduler``, which must therefore have the stage's structure."""
        restored = self.runner.param_schedulers or []
        expected = [s['type'] for s in stage['param_scheduler']]
        found = [type(s).__name__ for s in restored]
        if found != expected:
            raise ValueError(
                f"cannot resume stage {stage['name']!r}: its param_scheduler is {expected} but "
                f'the top-level param_scheduler restored from the checkpoint is {found}; give '
                'every stage the same kinds of schedulers as the top-level param_scheduler')

    def run_iter(self, data_batch) -> None:
        self.runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch, optim_wrapper=self.runner.optim_wrapper)
        self.runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1

    # ------------------------------------------------------------ weights
    def _initial_snapshot(self) -> Dict[str, torch.Tensor]:
        """The weights the run starts from (ImageNet or initialisation), kept for ``reset``."""
        path = osp.join(self.state_dir, 'initial_weights.pth')
        if self._iter == 0 and not osp.isfile(path):
            state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            if is_main_process():
                os.makedirs(self.state_dir, exist_ok=True)
                tmp = path + '.tmp'
                torch.save(state, tmp)
                os.replace(tmp, path)
            barrier()
            return state
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} is missing: it holds the initial weights that later stages restore '
                f'(reset); resume from a work dir where this run started, or start anew')
        return torch.load(path, map_location='cpu', weights_only=True)

    def _reset_modules(self, prefixes: Sequence[str]) -> None:
        if not prefixes:
            return
        state = self.model.state_dict()
        restored = {k: v for k, v in self._initial_weights.items() if _matches(k, prefixes)}
        for prefix in prefixes:
            if not any(_matches(k, [prefix]) for k in restored):
                raise ValueError(f'reset: no parameters under {prefix!r}')
        with torch.no_grad():
            for key, value in restored.items():
                state[key].copy_(value)
        print_log(f'Restored the initial weights of {list(prefixes)}', logger='current')

    def _build_optim_wrapper(self, overrides: dict):
        """The config's ``optim_wrapper`` with the stage's ``overrides`` merged in, over every
        parameter trainable at construction, whatever the stage
        freezes: its parameter groups then look the same in every stage, which is what the
        runner builds before ``--resume`` loads a checkpoint's optimiser state into it. Frozen
        parameters get no gradient, and SGD leaves a parameter without gradient untouched (no
        update, no weight decay, no momentum)."""
        for name, param in self.model.named_parameters():
            param.requires_grad = self._trainable_at_build[name]
        return self.runner.build_optim_wrapper(_merged(self.runner.cfg.optim_wrapper, overrides))

    def _set_trainable(self, stage: dict) -> None:
        frozen = list(stage['frozen']) + [UNUSED_IN_MODE[stage['mode']]]
        trainable = []
        for name, param in self.model.named_parameters():
            param.requires_grad = self._trainable_at_build[name] and not _matches(name, frozen)
            if param.requires_grad:
                trainable.append(name)
        if not trainable:
            raise ValueError(f"stage {stage['name']!r} leaves no parameter to train")
        print_log(f'Trainable: {sorted({n.rsplit(".", 1)[0] for n in trainable})}',
                  logger='current', level=logging.DEBUG)

    def _apply_model_train_cfg(self, overrides: dict) -> None:
        """Merges ``overrides`` into the model's train_cfg and rebuilds assigners / samplers."""
        base = getattr(self, '_base_train_cfg', None)
        if base is None:
            base = self._base_train_cfg = copy.deepcopy(self.model.train_cfg)
        train_cfg = ConfigDict(_merged(base, overrides))
        model = self.model
        model.train_cfg = train_cfg
        rpn_cfg = train_cfg.get('rpn')
        if rpn_cfg is not None:
            model.rpn_head.train_cfg = rpn_cfg
            model.rpn_head.assigner = TASK_UTILS.build(rpn_cfg['assigner'])
            model.rpn_head.sampler = TASK_UTILS.build(rpn_cfg['sampler'], default_args=dict(context=model.rpn_head))
        rcnn_cfg = train_cfg.get('rcnn')
        if rcnn_cfg is not None:
            model.roi_head.train_cfg = rcnn_cfg
            model.roi_head.init_assigner_sampler()

    # ---------------------------------------------------------- proposals
    def _proposal_files(self, rpn_stage: str):
        folder = osp.join(self.state_dir, 'proposals')
        return osp.join(folder, f'{rpn_stage}_train.pkl'), osp.join(folder, f'{rpn_stage}_val.pkl')

    def _proposal_dataloader(self, dataset_cfg: dict) -> dict:
        pipeline = self.proposal_pipeline or self.runner.cfg.val_dataloader.dataset.pipeline

        def as_test(cfg):
            cfg = dict(cfg)
            cfg.update(pipeline=copy.deepcopy(pipeline), test_mode=True)
            cfg.pop('proposal_file', None)
            return cfg

        return dict(batch_size=1, num_workers=self._dataloader_cfg.get('num_workers', 0),
                    persistent_workers=False, sampler=dict(type='DefaultSampler', shuffle=False),
                    dataset=_map_datasets(copy.deepcopy(dict(dataset_cfg)), as_test))

    def _ensure_proposals(self, index: int, stage: dict, resumed: bool):
        source = stage['proposals']
        train_file, val_file = self._proposal_files(source)
        if all(osp.isfile(f) for f in (train_file, val_file)):
            return train_file, val_file
        source_index = [s['name'] for s in self.stages].index(source)
        if resumed or source_index != index - 1:
            missing = [f for f in (train_file, val_file) if not osp.isfile(f)]
            raise FileNotFoundError(
                f"stage {stage['name']!r} needs the proposals of stage {source!r}, but {missing} "
                f'is missing and the model of that stage is no longer the current one; resume '
                f'from the checkpoint at the end of stage {source!r} (iteration '
                f'{self.bounds[source_index][1]}) to regenerate them')
        # The current model is the source stage's final model: propose with its RPN.
        generate_proposals(self.runner, self._proposal_dataloader(self._dataloader_cfg['dataset']),
                           self.offline_proposal_cfg, train_file,
                           f"training-set proposals of stage '{source}'")
        generate_proposals(self.runner, self._proposal_dataloader(self.runner.cfg.val_dataloader.dataset),
                           self.model.test_cfg.rpn, val_file, f"val-set proposals of stage '{source}'")
        return train_file, val_file

    def _stage_dataloader(self, stage: dict, proposal_file: Optional[str]):
        cfg = copy.deepcopy(self._dataloader_cfg)
        if 'batch_size' in stage:
            cfg['batch_size'] = stage['batch_size']
        if proposal_file is not None:
            def with_proposals(dataset):
                dataset = dict(dataset)
                dataset.update(proposal_file=osp.abspath(proposal_file),
                               pipeline=copy.deepcopy(self.proposal_train_pipeline))
                return dataset
            cfg['dataset'] = _map_datasets(cfg['dataset'], with_proposals)
        elif cfg == self._dataloader_cfg and self.dataloader is not None \
                and getattr(self.dataloader, 'batch_size', None) == cfg.get('batch_size'):
            return self.dataloader
        return self.runner.build_dataloader(cfg, seed=self.runner.seed)

    # ------------------------------------------------- checkpoints, eval
    def _save_stage_checkpoint(self) -> None:
        """Every stage ends with a checkpoint (unless the checkpoint hook just wrote it)."""
        filename = f'iter_{self._iter}.pth'
        if not osp.isfile(osp.join(self.runner.work_dir, filename)):
            save_checkpoint_atomically(self.runner, self.runner.work_dir, filename,
                                       save_optimizer=True, save_param_scheduler=True)
        elif is_main_process():
            write_text_atomically(osp.join(self.runner.work_dir, 'last_checkpoint'),
                                  osp.join(self.runner.work_dir, filename))
        barrier()

    def _evaluate(self, stage: dict, val_file: str) -> dict:
        cfg = self.runner.cfg
        if cfg.get('val_dataloader') is None or cfg.get('val_evaluator') is None:
            return {}
        dataloader = copy.deepcopy(dict(cfg.val_dataloader))

        def with_proposals(dataset):
            dataset = dict(dataset)
            dataset.update(proposal_file=osp.abspath(val_file),
                           pipeline=copy.deepcopy(self.proposal_test_pipeline))
            return dataset

        dataloader['dataset'] = _map_datasets(dataloader['dataset'], with_proposals)
        print_log(f"Evaluating stage '{stage['name']}' on the val set with the proposals of "
                  f"stage '{stage['proposals']}'", logger='current')
        metrics = ValLoop(self.runner, dataloader, copy.deepcopy(cfg.val_evaluator)).run()
        self.runner.message_hub.update_info(f"alternating_metrics/{stage['name']}", dict(metrics))
        return metrics

    def _save_final_model(self) -> None:
        """The final shared-conv Faster R-CNN (weights only), beside the last checkpoint."""
        if is_main_process():
            path = osp.join(self.runner.work_dir, 'faster_rcnn_final.pth')
            tmp = path + '.tmp'
            torch.save({'meta': {'iter': self._iter, 'stages': [s['name'] for s in self.stages],
                                 'dataset_meta': getattr(self.dataloader.dataset, 'metainfo', None)},
                        'state_dict': {k: v.detach().cpu() for k, v in self.model.state_dict().items()}},
                       tmp)
            os.replace(tmp, path)
            print_log(f'Final model: {path}', logger='current')
        barrier()
