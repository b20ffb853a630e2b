"""What a training run's JSON log records, read back for the tools (loss curve, demo summary):
MMEngine's ``<work_dir>/<timestamp>/vis_data/scalars.json``, one line per logged iteration, and the
speed of each 4-step stage (its timeline: ``engine/run_record.py``, §3.2).
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

from .user_input_error import UserFileNotFoundError


def read_scalars(work_dir: str) -> Dict[int, dict]:
    """iteration -> the training scalars logged at it (lines with ``iter`` and ``loss``; the
    validation lines have neither), from every run in the work dir (a resumed run writes a new
    timestamped folder; later runs win)."""
    by_iter = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'iter' in record and 'loss' in record:
                    by_iter[record['iter']] = record
    if not by_iter:
        raise UserFileNotFoundError(f'no training scalars under {work_dir}/*/vis_data/scalars.json')
    return dict(sorted(by_iter.items()))


def seconds_per_iteration(records: Dict[int, dict], stages: List[dict], window: int) -> Dict[str, Optional[float]]:
    """Seconds per training iteration of each stage: the mean logged ``time`` over the stage's log
    lines whose averaging window lies inside the stage after its first iteration.

    A logged ``time`` is MMEngine's mean over the last ``window`` iterations
    (``log_processor.window_size``), and the first iteration of a stage also carries what happened
    between two stages (the proposal files, a stage's evaluation, the new dataloader's start), so
    lines whose window reaches back to it are left out. None for a stage without such a line.
    """
    speeds = {}
    for stage in stages:
        first_clean = stage['begin'] + 1 + window  # the earliest line whose window starts after begin + 1
        times = [r['time'] for it, r in records.items()
                 if first_clean <= it <= stage['end'] and 'time' in r]
        speeds[stage['name']] = sum(times) / len(times) if times else None
    return speeds
