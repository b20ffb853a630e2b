"""The record a 4-step alternating training run (§3.2) leaves in its work dir: every file and
message-hub key name, defined once here and imported by ``AlternatingTrainingHook`` and by the
tools that read a run back (demo, paper_table, plot_losses, compare_training_modes, ...).

``<work_dir>/``
    ``iter_<end>.pth``: the checkpoint that ends each stage (:func:`stage_checkpoint`); it holds
    the weights, the message hub (metrics, proposal fingerprints), the timeline and the random
    state, not the optimiser: the next stage starts a fresh one, and Table 2 needs the weights;
    ``faster_rcnn_final.pth``: the shared-conv model, weights only (:func:`final_model`);
``<work_dir>/alternating/``
    ``stages.json``: the stage timeline (name, mode, begin, end of each step), also kept in every
    checkpoint's meta (:data:`TIMELINE_META_KEY`);
    ``initial_weights.pth``: the weights the run started from, which ``reset`` restores; its
    fingerprint is kept in the message hub (:data:`INITIAL_WEIGHTS_KEY`);
    ``proposals/<stage>_<split>.npz``: the offline proposals of an RPN stage (:func:`proposal_file`);
    ``train.lock``: held by the run training in this work dir (``work_dir_lock.py``).
"""
import hashlib
import json
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log

from ..utils.atomic_write import atomic_torch_save, atomic_write
from ..utils.user_input_error import UserInputError

STATE_DIR = 'alternating'
FINAL_MODEL = 'faster_rcnn_final.pth'
# message-hub runtime info, saved in every checkpoint
STAGE_KEY = 'alternating_stage'  # the stage being trained (log lines, speed table)
PROPOSALS_KEY = 'alternating_proposals'  # {rpn stage: fingerprint of the weights its files came from}
INITIAL_WEIGHTS_KEY = 'alternating_initial_weights'  # fingerprint of initial_weights.pth
METRICS_PREFIX = 'alternating_metrics/'
# checkpoint meta
TIMELINE_META_KEY = 'alternating_stages'
TIMELINE_FIELDS = ('name', 'mode', 'begin', 'end')


def state_dir(work_dir: str) -> str:
    return osp.join(work_dir, STATE_DIR)


def timeline_file(work_dir: str) -> str:
    return osp.join(work_dir, STATE_DIR, 'stages.json')


def initial_weights_file(work_dir: str) -> str:
    return osp.join(work_dir, STATE_DIR, 'initial_weights.pth')


def lock_file(work_dir: str) -> str:
    return osp.join(work_dir, STATE_DIR, 'train.lock')


def proposal_file(work_dir: str, rpn_stage: str, split: str) -> str:
    return osp.join(work_dir, STATE_DIR, 'proposals', f'{rpn_stage}_{split}.npz')


def stage_checkpoint_name(end: int) -> str:
    """MMEngine's ``iter_<n>.pth``, for the iteration that ends a stage."""
    return f'iter_{end}.pth'


def stage_checkpoint(work_dir: str, stage: dict) -> str:
    return osp.join(work_dir, stage_checkpoint_name(stage['end']))


def final_model(work_dir: str) -> str:
    return osp.join(work_dir, FINAL_MODEL)


def metrics_key(stage_name: str) -> str:
    return METRICS_PREFIX + stage_name


def check_timeline(timeline, where: str) -> List[dict]:
    """``timeline`` if it is a list of stages (:data:`TIMELINE_FIELDS`, consecutive iterations from
    0), else a UserInputError naming ``where`` (the file or checkpoint it came from)."""
    if not isinstance(timeline, list) or not timeline:
        raise UserInputError(f'{where}: the stage timeline is not a non-empty list of stages')
    begin = 0
    for stage in timeline:
        if not isinstance(stage, dict):
            raise UserInputError(f'{where}: a stage of the timeline is not a dict: {stage!r}')
        missing = [k for k in TIMELINE_FIELDS if k not in stage]
        if missing:
            raise UserInputError(f'{where}: a stage without {missing}: {stage}')
        ok = (isinstance(stage['name'], str) and isinstance(stage['mode'], str)
              and all(isinstance(stage[k], int) and not isinstance(stage[k], bool) for k in ('begin', 'end'))
              and stage['begin'] == begin and stage['end'] > begin)
        if not ok:
            raise UserInputError(f'{where}: bad stage {stage} (name and mode are strings, iterations '
                                 f'consecutive from 0: this one should begin at {begin})')
        begin = stage['end']
    return timeline


def write_timeline(work_dir: str, timeline: List[dict]) -> None:
    atomic_write(timeline_file(work_dir), json.dumps(timeline, indent=1))


def read_timeline(work_dir: str) -> Optional[List[dict]]:
    """The stage timeline of the run in ``work_dir`` (``stages.json``), checked; None if it has none."""
    path = timeline_file(work_dir)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            timeline = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise UserInputError(f'{path}: not a stage timeline ({e}); restore it or start a new work dir') from None
    return check_timeline(timeline, path)


def weights_fingerprint(state_dict: Dict[str, torch.Tensor]) -> str:
    """SHA-256 (first 16 hex digits) of the names and bytes of every tensor of a state dict: what
    the record keeps to tie a proposal file or the initial weights to the weights they belong to."""
    digest = hashlib.sha256()
    for key, value in sorted(state_dict.items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def check_resume(now: List[dict], recorded, iteration: int, where: str) -> None:
    """Refuses (UserInputError) to resume at ``iteration`` when a stage the checkpoint had started
    changed its place: ``recorded`` is the checkpoint's timeline (from ``where``), ``now`` the
    config's. A finished stage must keep its end; the current one may not end before the checkpoint."""
    recorded = check_timeline(recorded, where)
    current = {s['name']: s for s in now}
    started = [entry for entry in recorded if entry['begin'] < iteration]
    for entry in started:
        stage = current.get(entry['name'])
        was = f"{entry['mode']}, iterations {entry['begin']}-{entry['end']}"
        problem = None
        if stage is None:
            problem = 'is no longer in the config'
        elif (stage['mode'], stage['begin']) != (entry['mode'], entry['begin']) or (
                stage['end'] != entry['end'] if entry['end'] <= iteration else stage['end'] <= iteration):
            problem = f"is now {stage['mode']}, iterations {stage['begin']}-{stage['end']}"
        if problem:
            raise UserInputError(
                f"cannot resume from iteration {iteration}: stage {entry['name']!r} ({was} in the "
                f'checkpoint) {problem}; restore its settings, or resume from an earlier '
                'checkpoint, or start a new work dir')
    names = [entry['name'] for entry in started]
    for stage in now:
        if stage['begin'] < iteration and stage['name'] not in names:
            raise UserInputError(f"cannot resume from iteration {iteration}: stage {stage['name']!r} "
                                 f"(iterations {stage['begin']}-{stage['end']}) was not in the checkpoint")


def save_final_model(runner, model, stage_names: List[str]) -> None:
    """The final shared-conv Faster R-CNN (weights only, ``faster_rcnn_final.pth``)."""
    if is_main_process():
        path = final_model(runner.work_dir)
        atomic_torch_save(
            {'meta': {'iter': runner.train_loop.iter, 'stages': stage_names,
                      'dataset_meta': getattr(runner.train_dataloader.dataset, 'metainfo', None)},
             'state_dict': {k: v.detach().cpu() for k, v in model.state_dict().items()}}, path)
        print_log(f'Final model: {path}', logger='current')
    barrier()
