"""Checkpoints are written atomically: interrupted writes are never resumed from."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from tests.tiny import REPO, make_tiny_voc, tool_env, tiny_config

ENV = tool_env()


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_tiny_voc(tmp_path_factory.mktemp('voc'), num_trainval=3, num_test=2)


def run(config, work, *args):
    return subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(work), *args],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)


def test_kill_while_writing_a_checkpoint_then_resume(data_root, tmp_path):
    cfg = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp_path, joint_iters=6)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    cfg.custom_hooks = [dict(type='TornCheckpointHook', at_iter=4)]
    cfg.custom_imports = dict(imports=['faster_rcnn_paper', 'tests.fault_injection'], allow_failed_imports=False)
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    proc = run(config, tmp_path)
    assert proc.returncode == -9
    # the torn write left only a temporary file; the pointer still names the complete iter_2
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')
    assert not (tmp_path / 'iter_4.pth').exists() and (tmp_path / 'iter_4.pth.tmp').exists()
    torch.load(tmp_path / 'iter_2.pth', weights_only=True)  # complete
    cfg = Config.fromfile(config)
    cfg.custom_hooks = []
    cfg.dump(config)
    proc = run(config, tmp_path, '--resume')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r'resumed checkpoint.*iter_2\.pth|Load checkpoint from .*iter_2\.pth', proc.stdout + proc.stderr)
    assert 'Iter(train) [3/6]' in proc.stdout + proc.stderr
    # max_keep_ckpts=1: older checkpoints removed only after the new one is in place
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth')) == ['iter_6.pth']


def test_kill_during_proposal_generation_then_resume(data_root, tmp_path):
    """SIGKILL as soon as the 4-step run starts writing proposals; --resume regenerates them."""
    cfg = tiny_config('configs/faster_rcnn_zf_voc.py', data_root, tmp_path, stage_iters=2)
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    proc = subprocess.Popen([sys.executable, 'tools/train.py', config, '--work-dir', str(tmp_path)],
                            cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = False
    for line in proc.stdout:
        if 'Generating training-set proposals' in line:
            proc.kill()
            killed = True
            break
    proc.wait(timeout=300)
    assert killed
    props = tmp_path / 'alternating' / 'proposals'
    assert not (props / 'step1_rpn_train.npz').exists() or os.path.getsize(props / 'step1_rpn_train.npz') > 0
    proc = run(config, tmp_path, '--resume')
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "'step1_rpn' is finished" in log and 'Iter(train) [step2_fast_rcnn] [3/8]' in log
    assert osp.isfile(tmp_path / 'faster_rcnn_final.pth')
    assert not [p for p in os.listdir(props) if p.endswith('.tmp')]
