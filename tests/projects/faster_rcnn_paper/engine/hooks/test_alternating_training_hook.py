"""4-step alternating training (AlternatingTrainingHook on IterBasedTrainLoop) end to end on a tiny
generated VOC dataset (CPU): the steps, their frozen sets and proposals, kill -9 and --resume, two
processes, a child config, and the resumes that must be refused."""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from faster_rcnn_paper.datasets import load_proposal_file, read_proposal_meta, save_proposal_file
from tests.projects.faster_rcnn_paper.datasets.test_proposal_file import crafted_pickle
from tests.projects.faster_rcnn_paper.engine.test_work_dir_lock import holder as lock_holder
from tests.tiny import REPO, make_tiny_voc, tool_env, tiny_config

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


def with_fault(data_root, work, hook, checkpoint_interval=2):
    cfg = Config.fromfile(write_config(data_root, work))
    cfg.default_hooks.checkpoint.interval = checkpoint_interval
    cfg.custom_hooks = list(cfg.custom_hooks) + [hook]
    cfg.custom_imports = dict(imports=['faster_rcnn_paper', 'tests.fault_injection'], allow_failed_imports=False)
    path = osp.join(str(work), 'tiny_config.py')
    cfg.dump(path)
    return path


def without_fault(config):
    cfg = Config.fromfile(config)
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h.type == 'AlternatingTrainingHook']
    cfg.dump(config)


def train(config, work_dir, *args, launcher=None, check=True):
    env = tool_env()
    if launcher:
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
               '--master_port=29531', osp.join(REPO, 'tools/train.py'), config, '--work-dir',
               str(work_dir), '--launcher', 'pytorch', *args]
    else:
        cmd = [sys.executable, osp.join(REPO, 'tools/train.py'), config, '--work-dir', str(work_dir), *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def iter_line(stage, i, total):
    """The log line of training iteration ``i`` (1-based) of ``total``, tagged with its stage."""
    return rf'Iter\(train\) \[{stage}\] \[\s*{i}/{total}\].*'


def stage_log(text):
    return re.findall(r"Stage (\d)/4 '(\w+)' \(mode \w+\): iterations \d+-\d+(, resumed at \d+)?", text)


def load_state(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def backbone(state):
    return {k: v for k, v in state.items() if k.startswith('backbone.')}


def copy_work(src, dst):
    """A copy of a finished work dir; returns its config, kept outside it (train.py writes the
    config it ran, with --cfg-options, into the work dir)."""
    shutil.copytree(src, dst)
    cfg = Config.fromfile(osp.join(str(dst), 'tiny_config.py'))
    cfg.work_dir = str(dst)
    config = f'{dst}_config.py'
    cfg.dump(config)
    return config


@pytest.fixture(scope='module')
def uninterrupted(data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('alt_full')
    proc = train(write_config(data_root, work), work)
    return work, proc.stdout + proc.stderr


def test_four_stages_in_order_on_the_stock_loop(uninterrupted):
    work, log = uninterrupted
    cfg = Config.fromfile(osp.join(work, 'tiny_config.py'))
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert [name for _, name, _ in stage_log(log)] == STAGES
    assert 'Iter(train) [step4_fast_rcnn] [12/12]' in log
    assert re.search(iter_line('step1_rpn', 1, 12), log)
    assert log.count('pascal_voc/mAP') == 2  # the two detector steps are evaluated, nothing else
    for end in (3, 6, 9, 12):  # every stage ends with a checkpoint
        assert osp.isfile(osp.join(work, f'iter_{end}.pth'))
    assert osp.isfile(osp.join(work, 'alternating', 'stages.json'))


def test_first_batch_of_a_stage_comes_from_its_own_loader(uninterrupted):
    """Step 2's first iteration already trains Fast R-CNN on 2-image batches with proposals."""
    _, log = uninterrupted
    first = re.search(iter_line('step2_fast_rcnn', 4, 12), log).group(0)
    assert 'loss_cls' in first and 'loss_rpn' not in first
    first = re.search(iter_line('step3_rpn', 7, 12), log).group(0)
    assert 'loss_rpn_cls' in first and 'loss_cls' not in first


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
    work, log = uninterrupted
    for stage, end in (('step1_rpn', 3), ('step3_rpn', 9)):
        for split, count in (('train', 4), ('val', 2)):
            path = osp.join(work, 'alternating', 'proposals', f'{stage}_{split}.npz')
            props, meta = load_proposal_file(path)
            assert meta['stage'] == stage and meta['iter'] == end and len(meta['weights']) == 16
            assert len(props) == count
            for key, value in props.items():
                assert re.fullmatch(r'JPEGImages/\d{6}\.jpg', key)
                assert value['bboxes'].ndim == 2 and value['bboxes'].shape[1] == 4
                assert value['bboxes'].shape[0] == value['scores'].shape[0] <= 2000
                assert (value['scores'][:-1] >= value['scores'][1:]).all()  # sorted by score
    # two different RPNs made them (step 2 proposals are those of the trained step-1 RPN, made
    # before step 2 restores the initial weights)
    assert (read_proposal_meta(osp.join(work, 'alternating', 'proposals', 'step1_rpn_train.npz'))['weights']
            != read_proposal_meta(osp.join(work, 'alternating', 'proposals', 'step3_rpn_train.npz'))['weights'])
    assert log.index("training-set proposals of stage 'step1_rpn'") < log.index('Restored the initial weights')
    assert re.search(r"training-set proposals of stage 'step1_rpn': 4/4 images, [0-9.]+ images/s", log)
    log_file, = glob.glob(str(work / '*' / '*.log'))  # in the run's log file too
    with open(log_file) as f:
        assert "training-set proposals of stage 'step1_rpn': 4/4 images" in f.read()


def test_final_checkpoint_has_one_backbone_and_evaluates(uninterrupted, data_root):
    work, _ = uninterrupted
    final = load_state(osp.join(work, 'faster_rcnn_final.pth'))
    last = load_state(osp.join(work, 'iter_12.pth'))
    assert torch.equal(final['backbone.conv1.weight'], last['backbone.conv1.weight'])
    assert sum(k.startswith('backbone.conv1.') for k in final) == 2  # one backbone: weight, bias
    test_work = osp.join(work, 'test')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools/test.py'), osp.join(work, 'tiny_config.py'),
                           osp.join(work, 'faster_rcnn_final.pth'), '--work-dir', test_work],
                          cwd=REPO, env=tool_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pascal_voc/mAP' in proc.stdout + proc.stderr


@pytest.mark.parametrize('kill_at,stage', [(5, 'step2_fast_rcnn'), (8, 'step3_rpn'), (11, 'step4_fast_rcnn')])
def test_kill_and_resume(uninterrupted, data_root, tmp_path, kill_at, stage):
    """kill -9 inside a stage, then --resume: the stage continues with its frozen set, optimiser
    and schedule; no finished stage and no valid proposal file is redone."""
    work = tmp_path / 'work'
    config = with_fault(data_root, work, dict(type='KillAtIterHook', at_iter=kill_at))
    proc = train(config, work, check=False)
    assert proc.returncode == -9
    without_fault(config)
    proc = train(config, work, '--resume')
    log = proc.stdout + proc.stderr
    resumed = stage_log(log)
    assert 'is not defined in message_hub' not in log  # the losses of earlier steps are not resumed
    checkpoint_iter = kill_at - kill_at % 2  # checkpoints every 2 iterations (and at stage ends)
    assert (resumed[0][1], resumed[0][2]) == (stage, f', resumed at {checkpoint_iter}')
    assert [name for _, name, _ in resumed] == STAGES[STAGES.index(stage):]
    for done in STAGES[:STAGES.index(stage)]:
        assert f"'{done}' is finished" in log
    assert re.search(iter_line(stage, checkpoint_iter + 1, 12), log)
    for rpn_stage in ('step1_rpn', 'step3_rpn'):  # proposals of finished RPN stages are reused
        if STAGES.index(rpn_stage) < STAGES.index(stage):
            assert f"Generating training-set proposals of stage '{rpn_stage}'" not in log
    full_work, _ = uninterrupted
    final, reference = load_state(osp.join(work, 'iter_12.pth')), load_state(osp.join(full_work, 'iter_12.pth'))
    assert final.keys() == reference.keys()
    step2 = load_state(osp.join(work, 'iter_6.pth'))
    assert all(torch.equal(v, final[k]) for k, v in backbone(step2).items())  # still frozen in 3-4
    # the resumed optimiser is the stage's: its lr is the stage's schedule at that iteration
    ckpt = torch.load(osp.join(work, f'iter_{checkpoint_iter}.pth'), map_location='cpu', weights_only=False)
    stage_iters_done = checkpoint_iter - ITERS * STAGES.index(stage)
    assert len(ckpt['param_schedulers']) == 1 and ckpt['param_schedulers'][0]['last_step'] == stage_iters_done
    assert osp.isfile(osp.join(work, 'faster_rcnn_final.pth'))


def test_kill_while_writing_a_stage_end_checkpoint(data_root, tmp_path):
    work = tmp_path / 'work'
    # checkpoints every 4 iterations: iter_6.pth, the end of step 2, is the hook's own
    config = with_fault(data_root, work, dict(type='TornCheckpointHook', at_iter=6), checkpoint_interval=4)
    assert train(config, work, check=False).returncode == -9
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')
    assert not (work / 'iter_6.pth').exists()
    without_fault(config)
    log = train(config, work, '--resume').stdout
    assert re.search(r"'step2_fast_rcnn' \(mode fast_rcnn\): iterations 3-6, resumed at 4", log)
    assert not (work / 'iter_6.pth.tmp').exists() and (work / 'iter_6.pth').exists()
    assert osp.isfile(work / 'faster_rcnn_final.pth')


def test_two_processes_gloo(data_root, tmp_path):
    work = tmp_path / 'dist'
    proc = train(write_config(data_root, work), work, launcher='pytorch')
    log = proc.stdout + proc.stderr
    assert [name for _, name, _ in stage_log(log)][:4] == STAGES
    assert osp.isfile(osp.join(work, 'faster_rcnn_final.pth'))
    props, _ = load_proposal_file(osp.join(work, 'alternating', 'proposals', 'step3_rpn_train.npz'))
    assert len(props) == 4  # shards of both processes merged


def test_child_config_overrides_one_stage(data_root, tmp_path):
    """A config inheriting ours changes stages in one line each, and the loop's total to their sum."""
    work = tmp_path / 'child'
    base = write_config(data_root, work)
    child = str(tmp_path / 'child.py')
    with open(child, 'w') as f:
        f.write(f"_base_ = ['{base}']\n"
                "custom_hooks = _base_.custom_hooks\n"
                "custom_hooks[0].stages.step1_rpn.max_iters = 4\n"
                "custom_hooks[0].stages.step3_rpn.max_iters = 1\n"
                "custom_hooks[0].stages.step4_fast_rcnn.evaluate = False\n"
                "train_cfg = dict(max_iters=11)\n")
    log = train(child, work).stdout
    assert re.findall(r"'(\w+)' \(mode \w+\): iterations (\d+-\d+)", log) == [
        ('step1_rpn', '0-4'), ('step2_fast_rcnn', '4-7'), ('step3_rpn', '7-8'), ('step4_fast_rcnn', '8-11')]
    assert 'Iter(train) [step4_fast_rcnn] [11/11]' in log and log.count('pascal_voc/mAP') == 1


def test_loader_worker_processes(data_root, tmp_path):
    """The paper configs load data in persistent worker processes: the first stage keeps the loop's
    own iterator (a second iterator over that loader once reset its workers and no batch came)."""
    work = tmp_path / 'workers'
    config = write_config(data_root, work)
    cfg = Config.fromfile(config)
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = True
    cfg.dump(config)
    log = train(config, work).stdout
    assert 'Reach the end of the dataloader' not in log
    assert re.search(iter_line('step4_fast_rcnn', 4 * ITERS, 4 * ITERS), log)


def test_resume_inside_step3_after_the_run_regenerates_step3_proposals(uninterrupted, tmp_path):
    """Proposal files belong to the weights that made them (issue 16.1)."""
    full_work, _ = uninterrupted
    work = tmp_path / 'again'
    config = copy_work(full_work, work)
    props = work / 'alternating' / 'proposals'
    old_step3 = read_proposal_meta(str(props / 'step3_rpn_train.npz'))
    old_step1 = read_proposal_meta(str(props / 'step1_rpn_train.npz'))
    old_weights = load_state(work / 'iter_9.pth')
    log = train(config, work, '--resume', str(work / 'iter_8.pth')).stdout
    assert "Generating training-set proposals of stage 'step3_rpn'" in log
    new_step3 = read_proposal_meta(str(props / 'step3_rpn_train.npz'))
    new_weights = load_state(work / 'iter_9.pth')
    assert not all(torch.equal(v, new_weights[k]) for k, v in old_weights.items())  # step 3 retrained
    assert new_step3['weights'] != old_step3['weights'] and new_step3['iter'] == 9
    assert read_proposal_meta(str(props / 'step1_rpn_train.npz')) == old_step1  # untouched
    # step 4 trained on them: its checkpoint's message hub names the new fingerprint
    hub = torch.load(work / 'iter_10.pth', map_location='cpu', weights_only=False)['message_hub']
    assert hub['runtime_info']['alternating_proposals']['step3_rpn'] == new_step3['weights']


def test_crafted_pickle_in_the_proposal_folder_is_refused_on_resume(uninterrupted, tmp_path):
    full_work, _ = uninterrupted
    work = tmp_path / 'crafted'
    config = copy_work(full_work, work)
    marker = tmp_path / 'pwned'
    crafted_pickle(str(work / 'alternating' / 'proposals' / 'step3_rpn_train.npz'), marker)
    proc = train(config, work, '--resume', str(work / 'iter_10.pth'), check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0 and not marker.exists()
    assert 'step3_rpn_train.npz: not a proposal file' in log
    assert "stage 'step4_fast_rcnn' trains on the proposals of stage 'step3_rpn'" in log


def test_resume_after_the_stage_timeline_changed_is_refused(uninterrupted, tmp_path):
    full_work, _ = uninterrupted
    work = tmp_path / 'moved'
    config = copy_work(full_work, work)
    proc = train(config, work, '--resume', str(work / 'iter_4.pth'), '--cfg-options',
                 'custom_hooks.0.stages.step1_rpn.max_iters=6', 'train_cfg.max_iters=15', check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(r"cannot resume from iteration 4: stage 'step1_rpn' \(rpn, iterations 0-3 in the "
                     r'checkpoint\) is now rpn, iterations 0-6', log), log[-2000:]
    # a stage the checkpoint has not reached may change
    proc = train(config, work, '--resume', str(work / 'iter_10.pth'), '--cfg-options',
                 'custom_hooks.0.stages.step4_fast_rcnn.evaluate=False')
    assert 'Iter(train) [step4_fast_rcnn] [12/12]' in proc.stdout


def test_resume_without_a_checkpoint_is_an_error(data_root, tmp_path):
    work = tmp_path / 'empty'
    proc = train(write_config(data_root, work), work, '--resume', check=False)
    assert proc.returncode != 0
    assert f'--resume: no checkpoint to resume from in {work}' in proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr


def test_auto_scale_lr_scales_every_stage(data_root, tmp_path):
    """--auto-scale-lr: each stage's lr x processes x its batch / its base batch."""
    work = tmp_path / 'scaled'
    config = write_config(data_root, work)
    cfg = Config.fromfile(config)
    cfg.custom_hooks[0].stages.step2_fast_rcnn.evaluate = False
    cfg.custom_hooks[0].stages.step4_fast_rcnn.evaluate = False
    cfg.dump(config)
    log = train(config, work, '--auto-scale-lr', '--cfg-options', 'custom_hooks.0.stages.step2_fast_rcnn.batch_size=4',
                'custom_hooks.0.stages.step3_rpn.max_iters=1', 'train_cfg.max_iters=10',
                'custom_hooks.0.stages.step1_rpn.optim_wrapper.optimizer.lr=0.01').stdout
    assert "Stage 'step1_rpn': auto_scale_lr: 1 process(es) x 1 images for a base batch of 1: lr x 1" in log
    assert "Stage 'step2_fast_rcnn': auto_scale_lr: 1 process(es) x 4 images for a base batch of 2: lr x 2" in log
    # step 1's own optim_wrapper override (lr 0.01) is merged into the config's optimiser
    assert re.search(iter_line('step1_rpn', 1, 10) + r' lr: 1\.0000e-02', log)
    assert re.search(iter_line('step2_fast_rcnn', 4, 10) + r' lr: 2\.0000e-03', log)
    # step 2's optimiser, in a checkpoint inside the stage (a stage's end checkpoint holds none)
    opt = torch.load(work / 'iter_4.pth', map_location='cpu', weights_only=False)['optimizer']
    assert np.isclose(opt['param_groups'][0]['initial_lr'], 0.002)


def test_a_loop_length_other_than_the_sum_of_the_stages_is_refused(data_root, tmp_path):
    work = tmp_path / 'length'
    proc = train(write_config(data_root, work), work, '--cfg-options', 'train_cfg.max_iters=5', check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert ('train_cfg.max_iters is 5, but the 4-step stages train 3 + 3 + 3 + 3 = 12 iterations: set '
            'train_cfg.max_iters=12') in proc.stderr


def test_a_second_run_on_a_locked_work_dir_is_refused(data_root, tmp_path):
    work = tmp_path / 'locked'
    config = write_config(data_root, work)
    holder = lock_holder(work / 'alternating' / 'train.lock')
    try:
        proc = train(config, work, check=False)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert re.search(rf'train.lock: this work dir is in use by another training run \(process {holder.pid} on ',
                     proc.stderr)
    assert 'Iter(train)' not in proc.stdout and not (work / 'alternating' / 'initial_weights.pth').exists()


def test_kill_during_the_step2_evaluation_resumes_with_the_metric(data_root, tmp_path):
    """kill -9 in step 2's evaluation, after its end checkpoint: --resume evaluates again, and the
    stage's end checkpoint and the last one carry the metric; the killed run's lock is taken over."""
    work = tmp_path / 'work'
    config = with_fault(data_root, work, dict(type='KillInValHook'), checkpoint_interval=100)
    assert train(config, work, check=False).returncode == -9
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_6.pth')
    without_fault(config)
    log = train(config, work, '--resume').stdout
    assert "Evaluating stage 'step2_fast_rcnn'" in log and 'taking over from a run that ended' in log
    for end in (6, 12):
        hub = torch.load(work / f'iter_{end}.pth', map_location='cpu', weights_only=False)['message_hub']
        assert 'pascal_voc/mAP' in hub['runtime_info']['alternating_metrics/step2_fast_rcnn']


def test_a_stage_end_checkpoint_holds_no_optimiser(uninterrupted):
    work, _ = uninterrupted
    for end in (3, 6, 9, 12):
        ckpt = torch.load(osp.join(work, f'iter_{end}.pth'), map_location='cpu', weights_only=False)
        assert 'optimizer' not in ckpt and 'state_dict' in ckpt and 'random_state' in ckpt['meta']


def losses(scalars_json):
    with open(scalars_json) as f:
        records = [json.loads(line) for line in f]
    return {r['iter']: {k: v for k, v in r.items() if k.startswith('loss')} for r in records if 'loss' in r}


def test_resumed_at_a_step_boundary_the_losses_are_those_of_the_uninterrupted_run(uninterrupted, tmp_path):
    full_work, _ = uninterrupted
    work = tmp_path / 'boundary'
    config = copy_work(full_work, work)
    before = set(glob.glob(str(work / '*' / 'vis_data' / 'scalars.json')))
    train(config, work, '--resume', str(work / 'iter_6.pth'))
    resumed = losses(*set(glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))) - before)
    reference = losses(*glob.glob(str(full_work / '*' / 'vis_data' / 'scalars.json')))
    assert sorted(resumed) == list(range(7, 13))
    assert resumed == {i: reference[i] for i in range(7, 13)}


def with_proposals(path, bboxes):
    """The proposal file at ``path`` with the same header (stage, weights) and other boxes."""
    props, meta = load_proposal_file(str(path))
    save_proposal_file(str(path), {k: dict(v, bboxes=np.full_like(v['bboxes'], bboxes)) for k, v in props.items()},
                       meta)


def test_a_garbage_proposal_file_is_regenerated_at_the_step_boundary(uninterrupted, tmp_path):
    full_work, _ = uninterrupted
    work = tmp_path / 'garbage'
    config = copy_work(full_work, work)
    path = work / 'alternating' / 'proposals' / 'step1_rpn_train.npz'
    with_proposals(path, np.nan)
    log = train(config, work, '--resume', str(work / 'iter_3.pth')).stdout
    assert 'proposals are not finite boxes' in log and "Generating training-set proposals of stage 'step1_rpn'" in log
    assert np.isfinite(next(iter(load_proposal_file(str(path))[0].values()))['bboxes']).all()


@pytest.mark.parametrize('bboxes,message', [(np.nan, 'proposals are not finite boxes'),
                                            (1e9, r'leave the image by more than 16 pixels')])
def test_a_garbage_proposal_file_inside_a_step_is_refused(uninterrupted, tmp_path, bboxes, message):
    full_work, _ = uninterrupted
    work = tmp_path / 'garbage'
    config = copy_work(full_work, work)
    with_proposals(work / 'alternating' / 'proposals' / 'step3_rpn_train.npz', bboxes)
    proc = train(config, work, '--resume', str(work / 'iter_10.pth'), check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr and 'Iter(train)' not in proc.stdout
    assert re.search(rf'step3_rpn_train.npz: .*{message}.*; stage \'step4_fast_rcnn\' trains on the proposals of '
                     r"stage 'step3_rpn' .* \(iter_9.pth\) to regenerate them", proc.stderr)


def test_tampered_initial_weights_are_refused_on_resume(uninterrupted, tmp_path):
    full_work, _ = uninterrupted
    work = tmp_path / 'reset'
    config = copy_work(full_work, work)
    path = work / 'alternating' / 'initial_weights.pth'
    state = torch.load(path, weights_only=True)
    state['backbone.conv1.weight'] = state['backbone.conv1.weight'][:1]  # broadcastable by copy_
    torch.save(state, path)
    proc = train(config, work, '--resume', str(work / 'iter_4.pth'), check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr and 'Iter(train)' not in proc.stdout
    assert "initial_weights.pth: does not fit the model (key 'backbone.conv1.weight'" in proc.stderr


def test_a_checkpoint_with_a_garbage_timeline_is_refused(uninterrupted, tmp_path):
    full_work, _ = uninterrupted
    work = tmp_path / 'timeline'
    config = copy_work(full_work, work)
    ckpt = torch.load(work / 'iter_4.pth', map_location='cpu', weights_only=False)
    ckpt['meta']['alternating_stages'] = [dict(name='step1_rpn', mode='rpn', begin='zero', end=3)]
    torch.save(ckpt, work / 'iter_4.pth')
    proc = train(config, work, '--resume', str(work / 'iter_4.pth'), check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'the checkpoint of iteration 4 (meta alternating_stages): bad stage' in proc.stderr
