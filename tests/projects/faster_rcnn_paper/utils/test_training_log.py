"""utils/training_log.py: a work dir's JSON log, read back; seconds per iteration of each stage
without the time spent between stages."""
import json

import pytest

from faster_rcnn_paper.utils.training_log import read_scalars, seconds_per_iteration

STAGES = [dict(name='a', mode='rpn', begin=0, end=10), dict(name='b', mode='fast_rcnn', begin=10, end=20),
          dict(name='c', mode='rpn', begin=20, end=21)]


def write_run(work_dir, folder, lines):
    run = work_dir / folder / 'vis_data'
    run.mkdir(parents=True)
    (run / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')


def test_seconds_per_iteration_leaves_out_windows_over_a_stage_start(tmp_path):
    # Logged every 2 iterations, each line the mean of the last 2 (window 2). Stage a: 1.0 s, but
    # its line at 2 averages iteration 1 (the start); stage b: 3.0 s, its line at 12 averages
    # iteration 11, which also carried the proposal files written after stage a.
    lines = [dict(iter=i, loss=1.0, time=9.0 if i == 2 else 1.0) for i in range(2, 11, 2)]
    lines.append({'pascal_voc/mAP': 0.5, 'time': 100.0, 'step': 10})  # a validation line: not training
    lines += [dict(iter=i, loss=1.0, time=50.0 if i == 12 else 3.0) for i in range(12, 21, 2)]
    write_run(tmp_path, '20260101_000000', lines)
    write_run(tmp_path, '20260101_010000', [dict(iter=18, loss=1.0, time=5.0)])  # resumed: this run wins
    records = read_scalars(str(tmp_path))
    assert list(records) == list(range(2, 21, 2))
    speeds = seconds_per_iteration(records, STAGES, window=2)
    assert speeds['a'] == pytest.approx(1.0)
    assert speeds['b'] == pytest.approx((3.0 + 3.0 + 5.0 + 3.0) / 4)
    assert speeds['c'] is None  # no line inside it
    assert seconds_per_iteration(records, STAGES, window=1)['a'] == pytest.approx((9.0 + 4 * 1.0) / 5)


def test_missing_scalars(tmp_path):
    with pytest.raises(FileNotFoundError, match='no training scalars under'):
        read_scalars(str(tmp_path))
