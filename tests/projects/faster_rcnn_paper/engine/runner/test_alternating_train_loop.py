"""4-step alternating training end to end on a tiny generated VOC dataset (CPU)."""
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from tests.tiny import REPO, make_tiny_voc, tiny_config

STAGES = ['step1_rpn', 'step2_fast_rcnn', 'step3_rpn', 'step4_fast_rcnn']
ITERS = 3  # per stage: stage k ends at iteration 3k


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_tiny_voc(tmp_path_factory.mktemp('voc'), num_trainval=4, num_test=2)


def write_config(data_root, work_dir, **extra):
    cfg = tiny_config('configs/faster_rcnn_zf_voc.py', data_root, work_dir, stage_iters=ITERS)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    for key, value in extra.items():
        cfg[key] = value
    path = osp.join(str(work_dir), 'tiny_config.py')
    os.makedirs(str(work_dir), exist_ok=True)
    cfg.dump(path)
    return path


def train(config, work_dir, *args, launcher=None, check=True):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    if launcher:
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
               '--master_port=29531', osp.join(REPO, 'tools/train.py'), config, '--work-dir',
               str(work_dir), '--launcher', 'pytorch', *args]
    else:
        cmd = [sys.executable, osp.join(REPO, 'tools/train.py'), config, '--work-dir', str(work_dir), *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def stage_log(text):
    return re.findall(r"Stage (\d)/4 '(\w+)' \(mode \w+\): iterations \d+-\d+(, resumed at \d+)?", text)


def load_state(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def backbone(state):
    return {k: v for k, v in state.items() if k.startswith('backbone.')}


@pytest.fixture(scope='module')
def uninterrupted(data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('alt_full')
    proc = train(write_config(data_root, work), work)
    return work, proc.stdout + proc.stderr


def test_four_stages_in_order(uninterrupted):
    work, log = uninterrupted
    assert [name for _, name, _ in stage_log(log)] == STAGES
    assert 'Iter(train) [step4_fast_rcnn] [12/12]' in log
    assert log.count('pascal_voc/mAP') == 2  # the two detector steps are evaluated


def test_shared_convs_frozen_in_steps_3_and_4(uninterrupted):
    work, _ = uninterrupted
    step2, step3, final = (load_state(osp.join(work, f'iter_{i}.pth')) for i in (6, 9, 12))
    initial = torch.load(osp.join(work, 'alternating', 'initial_weights.pth'), weights_only=True)
    for key, value in backbone(step2).items():
        assert torch.equal(value, step3[key]) and torch.equal(value, final[key]), key
        assert not torch.equal(value, initial[key]), f'{key} did not train in step 2'
    # step 3 trains only the RPN; fc6/fc7 ride along from step 2 into step 4, which trains them
    for key in ('roi_head.bbox_head.fc6.weight', 'roi_head.bbox_head.fc7.weight'):
        assert torch.equal(step2[key], step3[key]) and not torch.equal(step3[key], final[key])
    assert not torch.equal(step2['rpn_head.rpn_cls.weight'], step3['rpn_head.rpn_cls.weight'])
    # step 4 leaves the step-3 RPN untouched
    assert torch.equal(step3['rpn_head.rpn_cls.weight'], final['rpn_head.rpn_cls.weight'])
    # step 3's RPN started from the initial weights (step 2 restored them), not from step 1's
    step1 = load_state(osp.join(work, 'iter_3.pth'))
    assert torch.equal(step2['rpn_head.rpn_conv.weight'], initial['rpn_head.rpn_conv.weight'])
    assert not torch.equal(step1['rpn_head.rpn_conv.weight'], initial['rpn_head.rpn_conv.weight'])


def test_proposal_files(uninterrupted):
    work, _ = uninterrupted
    for stage in ('step1_rpn', 'step3_rpn'):
        for split, count in (('train', 4), ('val', 2)):
            with open(osp.join(work, 'alternating', 'proposals', f'{stage}_{split}.pkl'), 'rb') as f:
                props = pickle.load(f)
            assert len(props) == count
            for key, value in props.items():
                assert re.fullmatch(r'JPEGImages/\d{6}\.jpg', key)
                assert value['bboxes'].ndim == 2 and value['bboxes'].shape[1] == 4
                assert value['bboxes'].shape[0] == value['scores'].shape[0] <= 2000
                assert (value['scores'][:-1] >= value['scores'][1:]).all()  # sorted by score


def test_final_checkpoint_has_one_backbone_and_evaluates(uninterrupted, data_root):
    work, _ = uninterrupted
    final = load_state(osp.join(work, 'faster_rcnn_final.pth'))
    assert torch.equal(final['backbone.conv1.weight'], load_state(osp.join(work, 'iter_12.pth'))['backbone.conv1.weight'])
    assert sum(k.startswith('backbone.conv1.') for k in final) == 2  # one backbone: weight, bias
    test_work = osp.join(work, 'test')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools/test.py'), osp.join(work, 'tiny_config.py'),
                           osp.join(work, 'faster_rcnn_final.pth'), '--work-dir', test_work],
                          cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pascal_voc/mAP' in proc.stdout + proc.stderr


@pytest.mark.parametrize('kill_at,stage', [(5, 'step2_fast_rcnn'), (11, 'step4_fast_rcnn')])
def test_kill_and_resume(uninterrupted, data_root, tmp_path, kill_at, stage):
    """kill -9 inside a stage, then --resume: the stage continues, no finished stage re-runs."""
    work = tmp_path / 'work'
    config = write_config(data_root, work,
                          custom_hooks=[dict(type='KillAtIterHook', at_iter=kill_at)],
                          custom_imports=dict(imports=['faster_rcnn_paper', 'tests.fault_injection'],
                                              allow_failed_imports=False))
    proc = train(config, work, check=False)
    assert proc.returncode == -9
    cfg = Config.fromfile(config)
    cfg.custom_hooks = []
    cfg.dump(config)
    proc = train(config, work, '--resume')
    log = proc.stdout + proc.stderr
    resumed = stage_log(log)
    checkpoint_iter = kill_at - 1  # checkpoints every 2 iterations and at stage ends
    assert (resumed[0][1], resumed[0][2]) == (stage, f', resumed at {checkpoint_iter}')
    assert [name for _, name, _ in resumed] == STAGES[STAGES.index(stage):]
    for done in STAGES[:STAGES.index(stage)]:
        assert f"'{done}' is finished" in log
    full_work, _ = uninterrupted
    final, reference = load_state(osp.join(work, 'iter_12.pth')), load_state(osp.join(full_work, 'iter_12.pth'))
    assert final.keys() == reference.keys()
    step2 = load_state(osp.join(work, 'iter_6.pth'))
    assert all(torch.equal(v, final[k]) for k, v in backbone(step2).items())  # still frozen in 3-4
    assert osp.isfile(osp.join(work, 'faster_rcnn_final.pth'))


def test_two_processes_gloo(data_root, tmp_path):
    work = tmp_path / 'dist'
    proc = train(write_config(data_root, work), work, launcher='pytorch')
    log = proc.stdout + proc.stderr
    assert [name for _, name, _ in stage_log(log)][:4] == STAGES
    assert osp.isfile(osp.join(work, 'faster_rcnn_final.pth'))
    with open(osp.join(work, 'alternating', 'proposals', 'step3_rpn_train.pkl'), 'rb') as f:
        assert len(pickle.load(f)) == 4  # shards of both processes merged
