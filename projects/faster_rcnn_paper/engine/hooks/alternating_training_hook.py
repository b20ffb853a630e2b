"""4-step alternating training (Faster R-CNN §3.2, "4-Step Alternating Training") as a hook on
MMEngine's stock ``IterBasedTrainLoop``; py-faster-rcnn (``train_faster_rcnn_alt_opt.py``) runs
four Caffe processes, this hook the same steps in one MMEngine run:

1. train the RPN from the ImageNet-initialised network;
2. train Fast R-CNN, again from ImageNet weights (separate convs), on step-1 proposals;
3. train the RPN layers only, on the step-2 convs, which stay frozen;
4. train the Fast R-CNN layers only (fc6/fc7 from step 2, fresh classifiers), convs still frozen,
   on step-3 proposals. The result shares its convs between RPN (step 3) and detector (step 4).

A config lists the steps in ``custom_hooks`` (``alternating_stages.py``); ``train_cfg.max_iters``
must be their sum. The hook only orchestrates; its parts: ``run_record.py`` (every file and key
name, the stage timeline), ``proposal_store.py`` (proposal files, validated, reused or
regenerated), ``initial_weights.py`` (the ``reset`` source, validated), ``stage_optimisation.py``
(optimiser, schedule, frozen set), ``stage_dataloader.py``, ``work_dir_lock.py``, ``random_state.py``.

At the end of a stage (``after_train_iter`` of its last iteration, after the checkpoint hook) it
saves the stage's checkpoint, writes the proposals of an RPN stage a later stage trains on,
evaluates a Fast R-CNN stage that asks for it (and saves the checkpoint again, with the metric),
then sets up the next stage: ``set_stage``, ``reset``, a fresh optimiser and schedule, the frozen
set, the stage's dataloader, and the random state the previous stage ended with.

``--resume`` (also after ``kill -9``) continues inside the checkpoint's stage, redoing what a kill
at a stage's end interrupted (proposal files, the evaluation). From a stage's end checkpoint the
run reproduces the uninterrupted one; inside a stage the data order restarts (the loop's
fast-forward is skipped, not loaded) and the random state is the checkpoint's.
"""
import copy
from typing import Dict, List, Optional, Union

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop, ValLoop

from ...utils.mmengine_private import is_resuming, is_training_run
from ...utils.user_input_error import UserInputError
from .. import run_record as record
from ..alternating_stages import StageSpec, check_module_names, parse_stages, stage_at, total_iters
from ..initial_weights import load_initial_weights, reset_modules, snapshot_initial_weights
from ..proposal_store import ProposalStore, check_proposal_datasets
from ..random_state import META_KEY as RANDOM_STATE_KEY, get_random_state, set_random_state
from ..stage_dataloader import use_dataloader
from ..stage_optimisation import build_stage_optimisation, set_trainable
from ..work_dir_lock import WorkDirLock, lock_work_dir
from .atomic_checkpoint_hook import save_checkpoint_atomically

KEPT_SCALARS = ('train/lr', 'train/time', 'train/data_time')  # the other train/ scalars are per stage


@HOOKS.register_module()
class AlternatingTrainingHook(Hook):
    """Runs the stages of 4-step alternating training on ``IterBasedTrainLoop`` (module docstring).

    Args:
        stages: ``{name: spec}`` in execution order (or a list with names), see ``parse_stages``.
        offline_proposal_cfg: RPN settings of the proposals dumped for training (pfr
            ``rpn_generate``); val-set proposals use the model's ``test_cfg.rpn``.
        proposal_train_pipeline / proposal_test_pipeline: pipelines that load proposals
            (``LoadProposals``); default: the config's top-level variables of these names.
        proposal_pipeline: pipeline the RPN runs over the images with (test-style, no flip);
            default: the val dataloader's pipeline.
    """
    priority = 'LOWEST'  # a stage's last after_train_iter runs after checkpoint, logger, scheduler

    def __init__(self, stages: Union[Dict[str, dict], List[dict]], offline_proposal_cfg: dict,
                 proposal_train_pipeline: Optional[List[dict]] = None,
                 proposal_test_pipeline: Optional[List[dict]] = None,
                 proposal_pipeline: Optional[List[dict]] = None) -> None:
        self.stages = parse_stages(stages)
        self.offline_proposal_cfg = copy.deepcopy(dict(offline_proposal_cfg))
        self.pipelines = dict(train=proposal_train_pipeline, val=proposal_test_pipeline)
        self.proposal_pipeline = proposal_pipeline
        self._active = False  # True in a training run
        self._current: Optional[int] = None
        self._random_state = None  # the state a checkpoint resumed from holds
        self._lock: Optional[WorkDirLock] = None

    @property
    def total_iters(self) -> int:
        return total_iters(self.stages)

    def _model(self, runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_run(self, runner) -> None:
        self._active = is_training_run(runner)
        if not self._active:
            return
        loop, cfg, model = runner.train_loop, runner.cfg, self._model(runner)
        if not isinstance(loop, IterBasedTrainLoop):
            raise UserInputError(f'AlternatingTrainingHook needs train_cfg type IterBasedTrainLoop, '
                                 f'got {type(loop).__name__}')
        if loop.max_iters != self.total_iters:
            raise UserInputError(
                f'train_cfg.max_iters is {loop.max_iters}, but the 4-step stages train '
                f"{' + '.join(str(s.max_iters) for s in self.stages)} = {self.total_iters} iterations: "
                f'set train_cfg.max_iters={self.total_iters}')
        loop.val_begin = self.total_iters + 1  # the loop's own validation is off: stages evaluate
        for split, name in (('train', 'proposal_train_pipeline'), ('val', 'proposal_test_pipeline')):
            self.pipelines[split] = self.pipelines[split] or cfg.get(name)
        if any(s.mode == 'fast_rcnn' for s in self.stages):
            if not all(self.pipelines.values()):
                raise UserInputError('AlternatingTrainingHook: fast_rcnn stages need proposal_train_pipeline '
                                     'and proposal_test_pipeline (hook arguments or top-level config variables)')
            check_proposal_datasets(cfg)
        if not hasattr(model, 'set_stage'):
            raise UserInputError(f'AlternatingTrainingHook needs a model with set_stage (PaperFasterRCNN), '
                                 f'got {type(model).__name__}')
        self._trainable_at_build = {n: p.requires_grad for n, p in model.named_parameters()}
        check_module_names(self.stages, list(self._trainable_at_build))
        self._lock = lock_work_dir(record.lock_file(runner.work_dir))
        self._dataloader_cfg = copy.deepcopy(dict(cfg.train_dataloader))
        self._loader_key = (self._dataloader_cfg['batch_size'], None)  # the loop's own dataloader
        evaluates = cfg.get('val_dataloader') is not None and cfg.get('val_evaluator') is not None
        self.store = ProposalStore(
            runner.work_dir, self.stages,
            dict(train=self._dataloader_cfg['dataset'], val=cfg.val_dataloader['dataset'] if evaluates else None),
            self.pipelines, self.proposal_pipeline or cfg.val_dataloader.dataset.pipeline,
            dict(train=self.offline_proposal_cfg, val=model.test_cfg.rpn),
            self._dataloader_cfg.get('num_workers', 0))

    def after_run(self, runner) -> None:
        if self._lock is not None:
            self._lock.release()

    def _timeline(self) -> List[dict]:
        return [s.timeline_entry() for s in self.stages]

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._active:
            meta = checkpoint.setdefault('meta', {})
            meta[record.TIMELINE_META_KEY] = self._timeline()
            meta[RANDOM_STATE_KEY] = self._random_state or get_random_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On ``--resume``: checks the stage timeline and gives the runner the optimiser and lr
        schedule of the checkpoint's stage, into which MMEngine then loads its states."""
        if not (self._active and is_resuming(runner)):
            return
        meta = checkpoint.get('meta', {})
        iteration = int(meta.get('iter', 0))
        recorded = meta.get(record.TIMELINE_META_KEY)
        where = f'the checkpoint of iteration {iteration} (meta {record.TIMELINE_META_KEY})'
        if recorded is None:
            recorded, where = record.read_timeline(runner.work_dir), record.timeline_file(runner.work_dir)
        if recorded is not None:
            record.check_resume(self._timeline(), recorded, iteration, where)
        self._random_state = meta.get(RANDOM_STATE_KEY)
        stage = self.stages[min(stage_at(self.stages, max(iteration - 1, 0)), len(self.stages) - 1)]
        build_stage_optimisation(runner, self._model(runner), stage, self._trainable_at_build,
                                 self._dataloader_cfg['batch_size'])

    def before_train(self, runner) -> None:
        if not self._active:
            return
        iteration, model = runner.train_loop.iter, self._model(runner)
        if is_main_process():
            record.write_timeline(runner.work_dir, self._timeline())
        self._initial = (snapshot_initial_weights if iteration == 0 else load_initial_weights)(
            runner, model, runner.work_dir)
        index = stage_at(self.stages, iteration)
        for done, stage in enumerate(self.stages[:index]):
            print_log(f"Stage {done + 1}/{len(self.stages)} '{stage.name}' is finished "
                      f'(iterations {stage.begin}-{stage.end}); skipped', logger='current')
        self._current = index
        if index > 0 and iteration == self.stages[index - 1].end:  # resumed at a stage's end
            self._finish_stage(runner, index - 1, resumed=True)
        if index < len(self.stages):
            stage = self.stages[index]
            self._start_stage(runner, index, resumed_at=iteration if iteration > stage.begin else None,
                              skip=iteration)
        if self._random_state is not None:
            try:
                set_random_state(self._random_state)
            except ValueError as e:
                raise UserInputError(f'the checkpoint of iteration {iteration}: meta {RANDOM_STATE_KEY}: '
                                     f'{e}; resume from another checkpoint') from None
        self._random_state = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self._active or self._current is None or self._current >= len(self.stages):
            return
        if batch_idx + 1 != self.stages[self._current].end:
            return
        self._random_state = get_random_state()  # the next stage starts from it, as on resume
        self._finish_stage(runner, self._current)
        self._current += 1
        if self._current < len(self.stages):
            self._start_stage(runner, self._current)
        set_random_state(self._random_state)
        self._random_state = None

    def after_train(self, runner) -> None:
        if self._active and runner.train_loop.iter >= self.total_iters:
            record.save_final_model(runner, self._model(runner), [s.name for s in self.stages])

    def _finish_stage(self, runner, index: int, resumed: bool = False) -> None:
        """A stage's end: its checkpoint (weights, message hub, random state; no optimiser, as the
        next stage starts a fresh one), its proposal files, its evaluation (then the checkpoint
        again, carrying the metric). Resumed at that end, only what is missing is redone."""
        stage = self.stages[index]
        name = record.stage_checkpoint_name(stage.end)
        if not resumed:
            save_checkpoint_atomically(runner, runner.work_dir, name, save_optimizer=False,
                                       save_param_scheduler=False, by_epoch=False)
            print_log(f"===== Stage {index + 1}/{len(self.stages)} '{stage.name}' done =====", logger='current')
        self.store.write(runner, self._model(runner), stage)
        key = record.metrics_key(stage.name)
        if stage.mode == 'fast_rcnn' and stage.evaluate and runner.message_hub.get_info(key) is None:
            if self._evaluate(runner, stage, key):
                save_checkpoint_atomically(runner, runner.work_dir, name, save_optimizer=False,
                                           save_param_scheduler=False, by_epoch=False)

    def _start_stage(self, runner, index: int, resumed_at: Optional[int] = None, skip: int = 0) -> None:
        stage, model, loop = self.stages[index], self._model(runner), runner.train_loop
        print_log(f"===== Stage {index + 1}/{len(self.stages)} '{stage.name}' (mode {stage.mode}): "
                  f'iterations {stage.begin}-{stage.end}'
                  f"{f', resumed at {resumed_at}' if resumed_at is not None else ''} =====", logger='current')
        train_file = self.store.files_for(runner, stage)['train'] if stage.mode == 'fast_rcnn' else None
        if resumed_at is None:
            reset_modules(model, self._initial, stage.reset)
        unused = model.set_stage(stage.mode, stage.model_train_cfg)
        if resumed_at is None:
            build_stage_optimisation(runner, model, stage, self._trainable_at_build, self._dataloader_cfg['batch_size'])
        set_trainable(model, stage, list(stage.frozen) + list(unused), self._trainable_at_build)
        use_dataloader(loop, self._stage_dataloader(runner, stage, train_file), skip)
        runner.optim_wrapper.initialize_count_status(model, (resumed_at or stage.begin) - stage.begin,
                                                     stage.max_iters)
        for key in [k for k in runner.message_hub.log_scalars if k.startswith('train/') and k not in KEPT_SCALARS]:
            runner.message_hub.log_scalars.pop(key)
            forget_resumed_key(runner.message_hub, key)  # else every resume warns about it
        runner.message_hub.update_info(record.STAGE_KEY, stage.name)

    def _stage_dataloader(self, runner, stage: StageSpec, proposal_file: Optional[str]):
        cfg = copy.deepcopy(self._dataloader_cfg)
        cfg['batch_size'] = stage.batch_size or cfg['batch_size']
        if proposal_file is not None:
            cfg['dataset'] = self.store.dataset('train', proposal_file)
        key = (cfg['batch_size'], proposal_file)
        if key == self._loader_key:  # the loop's current dataloader is this one
            return runner.train_loop.dataloader
        self._loader_key = key
        return runner.build_dataloader(cfg, seed=runner.seed)

    def _evaluate(self, runner, stage: StageSpec, key: str) -> bool:
        val_file = self.store.files_for(runner, stage)['val']
        if val_file is None:  # no val set in the config
            return False
        dataloader = dict(copy.deepcopy(dict(runner.cfg.val_dataloader)), dataset=self.store.dataset('val', val_file))
        print_log(f"Evaluating stage '{stage.name}' on the val set with the proposals of "
                  f"stage '{stage.proposals}'", logger='current')
        metrics = ValLoop(runner, dataloader, copy.deepcopy(runner.cfg.val_evaluator)).run()
        runner.message_hub.update_info(key, dict(metrics))
        return True
