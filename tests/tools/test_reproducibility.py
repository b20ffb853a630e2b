"""Two runs with one seed, on one machine and thread count, give identical results: the stand-in
ImageNet pre-training (tools/demo/pretrain_toy_backbone.py) and a tiny 4-step alternating training
(tools/train.py, with a data-loader worker process as the demo has) write the same per-iteration
losses and the same weights (and the stand-in's seed changes its weights)."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from faster_rcnn_paper.utils.training_log import read_scalars
from tests.tiny import REPO, make_tiny_voc, tiny_config, tool_env

# MMEngine's JSON log also records wall-clock times and the ETA; everything else must repeat.
TIMING_KEYS = ('time', 'data_time', 'eta', 'memory')
THREADS = '2'  # the demo's machines have 2 cores


def run_tool(args, tmp_path):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=dict(tool_env(), OMP_NUM_THREADS=THREADS),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def assert_same_weights(a, b):
    assert sorted(a) == sorted(b)
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} of {len(a)} tensors differ, e.g. {differ[:3]}'


def stand_in(config, tmp_path, name, seed):
    out = str(tmp_path / f'{name}.pth')
    run_tool(['tools/demo/pretrain_toy_backbone.py', config, out, '--iters', '3', '--num-images', '10',
              '--seed', str(seed)], tmp_path)
    return weights(out)


def test_stand_in_pretraining_repeats_with_its_seed(tmp_path):
    config = str(tmp_path / 'tiny_demo_config.py')  # the demo's, at the tests' image scale, fc6/fc7 narrowed
    tiny_config('configs/faster_rcnn_zf_alternating_toyvoc.py', str(tmp_path), tmp_path).dump(config)
    first, again = stand_in(config, tmp_path, 'a', 1), stand_in(config, tmp_path, 'b', 1)
    other = stand_in(config, tmp_path, 'c', 2)
    assert_same_weights(first, again)
    assert not torch.equal(first['backbone.conv1.weight'], other['backbone.conv1.weight'])


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_tiny_voc(tmp_path_factory.mktemp('voc'), num_trainval=4, num_test=2)


def four_steps(data_root, tmp_path, name, seed):
    """A tiny 4-step run (2 iterations per step) with one loader worker; its scalars without the
    timings, and its final weights."""
    work = tmp_path / name
    cfg = tiny_config('configs/faster_rcnn_zf_voc.py', data_root, work, stage_iters=2)
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = True
    cfg.randomness = dict(seed=seed)  # as the configs set it: no deterministic=True needed on CPU
    config = str(tmp_path / f'{name}_config.py')
    cfg.dump(config)
    run_tool(['tools/train.py', config, '--work-dir', str(work)], tmp_path)
    scalars = {it: {k: v for k, v in record.items() if k not in TIMING_KEYS}
               for it, record in read_scalars(str(work)).items()}
    # as JSON text: a step that does not compute a loss logs NaN there, and NaN != NaN
    return json.dumps(scalars, sort_keys=True), weights(osp.join(str(work), 'iter_8.pth'))


def test_four_step_training_repeats_with_its_seed(data_root, tmp_path):
    logs, final = four_steps(data_root, tmp_path, 'a', seed=5)
    logs_again, final_again = four_steps(data_root, tmp_path, 'b', seed=5)
    assert sorted(json.loads(logs)) == [str(it) for it in range(1, 9)]
    assert logs == logs_again
    assert_same_weights(final, final_again)
