"""Seconds per training iteration, per stage, and the share of each iteration spent outside the
model's forward / backward / update (data loading, hooks, logging, checkpoints).

The hook times ``model.train_step`` (forward, backward and optimiser update) and each iteration's
full cycle, from one ``before_train_iter`` to the next, which includes loading the next batch and
every hook. The first ``skip`` iterations of each stage (warm-up) and the last one (its cycle
contains the work between stages: proposal generation, evaluation) are left out. At the end the
table is logged and written to ``<work_dir>/training_speed.json``.
"""
import json
import os.path as osp
import time
from collections import defaultdict

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..run_record import STAGE_KEY


@HOOKS.register_module()
class TrainingSpeedHook(Hook):
    priority = 'VERY_HIGH'

    def __init__(self, skip: int = 3) -> None:
        self.skip = skip
        self.stats = defaultdict(lambda: dict(seen=0, iters=0, wall=0.0, step=0.0))
        self._current = None  # (stage, cycle start) of the running iteration
        self._step_time = 0.0

    def before_train(self, runner) -> None:
        original = runner.model.train_step

        def timed_train_step(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._step_time = time.perf_counter() - start

        runner.model.train_step = timed_train_step

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        now = time.perf_counter()
        stage = runner.message_hub.get_info(STAGE_KEY) or 'train'
        if self._current is not None and self._current[0] == stage:
            self._record(stage, wall=now - self._current[1])
        self._current = (stage, now)

    def _record(self, stage: str, wall: float) -> None:
        entry = self.stats[stage]
        entry['seen'] += 1
        if entry['seen'] > self.skip:
            entry['iters'] += 1
            entry['wall'] += wall
            entry['step'] += self._step_time

    def after_train(self, runner) -> None:
        table = {stage: dict(iters=e['iters'], seconds_per_iter=round(e['wall'] / e['iters'], 4),
                             outside_share=round(1 - e['step'] / e['wall'], 4))
                 for stage, e in self.stats.items() if e['iters']}
        for stage, row in table.items():
            print_log(f"training speed [{stage}]: {row['seconds_per_iter']:.3f} s/iter over "
                      f"{row['iters']} iterations, {100 * row['outside_share']:.1f} % outside "
                      'forward/backward/update', logger='current')
        if is_main_process():
            with open(osp.join(runner.work_dir, 'training_speed.json'), 'w') as f:
                json.dump(table, f, indent=1)
