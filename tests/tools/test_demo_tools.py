"""The demo's tools: inference pictures + JSON, loss curve, the demo's summary (the stand-in
pre-training is tested in tests/projects/faster_rcnn_paper/demo/)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES
from mmdet.registry import MODELS
from tests.tiny import REPO, make_tiny_voc, tiny_config, tool_env
from tests.tools import load_tool


def test_infer_writes_pictures_and_json(tmp_path):
    data_root = make_tiny_voc(tmp_path / 'voc', num_trainval=1, num_test=2)
    cfg = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp_path / 'work')
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': TOY_CLASSES}}}, ckpt)
    images = [osp.join(data_root, 'VOC2007', 'JPEGImages', f'00000{i}.jpg') for i in (2, 3)]
    out = tmp_path / 'pictures'
    proc = subprocess.run([sys.executable, 'tools/misc/infer.py', config, ckpt, *images, '--out-dir', str(out),
                           '--score-thr', '0.0'], cwd=REPO, env=tool_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(out)) == ['000002.png', '000003.png', 'detections.json']
    report = json.loads((out / 'detections.json').read_text())
    assert [r['image'] for r in report] == images
    for det in report[0]['detections']:
        assert det['class'] in TOY_CLASSES and len(det['bbox']) == 4 and 0 <= det['score'] <= 1
    # tools/misc/infer.py is a thin layer over mmdet's DetInferencer, which takes our config as it is
    from mmdet.apis import DetInferencer
    pred = DetInferencer(model=config, weights=ckpt, device='cpu', show_progress=False)(
        images[0], return_datasamples=True)['predictions'][0].pred_instances
    keep = pred.scores > 0.0
    assert [[round(float(v), 1) for v in box] for box in pred.bboxes[keep]] == \
        [det['bbox'] for det in report[0]['detections']]
    bad = subprocess.run([sys.executable, 'tools/misc/infer.py', config, ckpt, 'missing.jpg', '--out-dir', str(out)],
                         cwd=REPO, env=tool_env(), capture_output=True, text=True)
    assert bad.returncode != 0 and 'image not found: missing.jpg' in bad.stderr


def test_plot_losses(tmp_path):
    plot_losses = load_tool('analysis_tools/plot_losses')
    run = tmp_path / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = [dict(iter=i, loss=1.0 / i, loss_rpn_cls=1.0 / i) for i in range(1, 6)]
    lines += [dict(iter=i, loss=2.0 / i, loss_cls=2.0 / i, loss_bbox=0.0) for i in range(6, 11)]
    (run / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    (tmp_path / 'alternating').mkdir()
    (tmp_path / 'alternating' / 'stages.json').write_text(json.dumps(
        [dict(name='step1_rpn', mode='rpn', begin=0, end=5), dict(name='step2_fast_rcnn', mode='fast_rcnn', begin=5, end=10)]))
    assert list(plot_losses.read_scalars(str(tmp_path))) == list(range(1, 11))
    out = plot_losses.plot(str(tmp_path), str(tmp_path / 'curve.png'))
    assert osp.getsize(out) > 1000


def test_demo_summary_checks_its_targets():
    target_report = load_tool('demo/demo').target_report
    assert target_report(0.392, 15.0, 0.85, 15) == ['target mAP >= 0.85: NOT met (0.392)',
                                                    'target time <= 15 min: met (15.0 min)']
    assert target_report(0.9, 15.2, 0.85, 15)[0].endswith('met (0.900)')
    assert 'NOT met (15.2 min)' in target_report(0.9, 15.2, 0.85, 15)[1]


# ----------------------------------------------------------------- the summary's per-step lines
DEMO_CONFIG = 'configs/faster_rcnn_zf_alternating_toyvoc.py'
FOUR_STEPS = [dict(name='step1_rpn', mode='rpn', begin=0, end=10),
              dict(name='step2_fast_rcnn', mode='fast_rcnn', begin=10, end=20),
              dict(name='step3_rpn', mode='rpn', begin=20, end=30),
              dict(name='step4_fast_rcnn', mode='fast_rcnn', begin=30, end=40)]


def demo_config(tmp_path, data_root, window, **stage_updates):
    cfg = tiny_config(DEMO_CONFIG, data_root, tmp_path / 'work')
    cfg.model.init_cfg = None  # no stand-in weights here
    cfg.log_processor.window_size = window
    for name, update in stage_updates.items():
        cfg.custom_hooks[0].stages[name].update(update)
    path = str(tmp_path / 'demo_cfg.py')
    cfg.dump(path)
    return path


def fake_run(work, step2_map):
    """A finished 4-step work dir, without the weights: stages.json, a JSON log (logged every 2
    iterations; step k runs at k s/iteration, the first line of a step is slow: the time between
    steps) and the stage-end checkpoints, the last one with the hook's step-2 metrics."""
    (work / 'alternating').mkdir(parents=True)
    (work / 'alternating' / 'stages.json').write_text(json.dumps(FOUR_STEPS))
    (work / '20260101_000000' / 'vis_data').mkdir(parents=True)
    lines = [dict(iter=i, loss=1.0, time=60.0 if i % 10 == 2 else float((i - 1) // 10 + 1))
             for i in range(2, 41, 2)]
    (work / '20260101_000000' / 'vis_data' / 'scalars.json').write_text('\n'.join(map(json.dumps, lines)))
    for end in (10, 20, 30):
        (work / f'iter_{end}.pth').write_bytes(b'not read')
    runtime_info = {} if step2_map is None else {
        'alternating_metrics/step2_fast_rcnn': {'pascal_voc/mAP': step2_map, 'pascal_voc/AP50': step2_map}}
    torch.save({'meta': {}, 'state_dict': {}, 'message_hub': dict(log_scalars={}, runtime_info=runtime_info,
                                                                  resumed_keys={})}, str(work / 'iter_40.pth'))


def test_demo_summary_gives_each_steps_contribution_and_speed(tmp_path, monkeypatch):
    demo = load_tool('demo/demo')
    config = demo_config(tmp_path, str(tmp_path / 'voc'), window=2)
    work = tmp_path / 'work'
    fake_run(work, step2_map=0.4123)
    recalls = {'iter_10.pth': 0.8, 'iter_30.pth': 0.9}
    commands = []

    def paper_table_recall(cmd):  # tools/paper/paper_table.py recall, without the model
        commands.append(cmd)
        out_dir = cmd[cmd.index('--out-dir') + 1]
        os.makedirs(out_dir)
        value = recalls[osp.basename(cmd[4])]
        with open(osp.join(out_dir, 'recall.json'), 'w') as f:
            json.dump(dict(iou=[0.45, 0.5, 0.55], proposal_nums=[300], recall=[[1.0, value, 0.1]]), f)
    monkeypatch.setattr(demo, 'run', paper_table_recall)
    steps = demo.step_report(config, str(work), 0.5349, 7, str(tmp_path / 'steps'), '/elsewhere/toy', 4)
    # the RPN steps' end checkpoints, steps 1 and 3
    assert [(c[2], c[3], c[4]) for c in commands] == [('recall', config, str(work / 'iter_10.pth')),
                                                      ('recall', config, str(work / 'iter_30.pth'))]
    for cmd in commands:
        assert cmd[1] == 'tools/paper/paper_table.py' and cmd[cmd.index('--proposal-nums') + 1] == '300'
        options = cmd[cmd.index('--cfg-options') + 1:]
        assert options[0] == 'test_dataloader.dataset.indices=7'
        assert 'test_dataloader.dataset.data_root=/elsewhere/toy/VOCdevkit/' in options  # --data-root
        assert 'randomness.seed=4' in options  # --seed
    assert [(s['step'], s['name'], s['iterations'], s['value']) for s in steps] == [
        (1, 'step1_rpn', [0, 10], 0.8), (2, 'step2_fast_rcnn', [10, 20], 0.4123),
        (3, 'step3_rpn', [20, 30], 0.9), (4, 'step4_fast_rcnn', [30, 40], 0.5349)]
    # window 2: the line at begin + 2 also averages the step's first iteration, so it is left out
    assert [s['seconds_per_iteration'] for s in steps] == [1.0, 2.0, 3.0, 4.0]
    assert "proposals of step1_rpn, val split = test split" in steps[1]['source']
    assert demo.format_steps(steps) == [
        'step name              iterations   s/iter  contribution',
        '1    step1_rpn         0-10           1.00  proposal recall (IoU 0.5, top 300) 0.800',
        '2    step2_fast_rcnn   10-20          2.00  mAP (VOC07 11-point) 0.412',
        '3    step3_rpn         20-30          3.00  proposal recall (IoU 0.5, top 300) 0.900',
        '4    step4_fast_rcnn   30-40          4.00  mAP (VOC07 11-point) 0.535']
    times = dict(data=6.0, pretrain=120.0, train=600.0, test=30.0, steps=45.0, pictures=15.0)
    lines = demo.summary_lines(steps, {'circle': 0.6, 'square': 0.469}, 0.5349, times, 816.0, 7)
    assert lines[:6] == ['4-step alternating training (paper §3.2), what each step gave:'] + demo.format_steps(steps)
    assert lines[6:] == [
        '(recall: the RPN of the step\'s end checkpoint on 7 test images; step 2: its detector on step-1 '
        'proposals, the paper\'s "unshared" model; step 4: the final model)',
        '',
        'class      AP@0.5 (VOC07 11-point), final model',
        'circle     0.600',
        'square     0.469',
        'mAP        0.535',
        'time: data 0.1 min, pretrain 2.0 min, train 10.0 min, test 0.5 min, steps 0.8 min, pictures 0.2 min; '
        'total 13.6 min']


def test_demo_summary_says_why_a_step_has_no_number(tmp_path, monkeypatch):
    demo = load_tool('demo/demo')
    config = demo_config(tmp_path, str(tmp_path / 'voc'), window=2)
    work = tmp_path / 'work'
    fake_run(work, step2_map=None)  # step 2 ran with evaluate=False
    os.remove(work / 'iter_30.pth')
    monkeypatch.setattr(demo, 'step_recall', lambda config, ckpt, out, n, data_root, seed: 0.5)
    steps = demo.step_report(config, str(work), 0.5, 100, str(tmp_path / 'steps'), 'data/toy', 0)
    assert steps[1]['value'] is None and 'evaluate=False for step2_fast_rcnn' in steps[1]['note']
    assert steps[2]['value'] is None and 'iter_30.pth not found' in steps[2]['note']
    lines = demo.format_steps(steps)
    assert lines[2].endswith('mAP (VOC07 11-point) n/a: not evaluated during training (the config sets '
                             'evaluate=False for step2_fast_rcnn)')


def test_demo_points_every_tool_at_its_data_root(tmp_path, monkeypatch):
    """--data-root reaches training (data and stand-in weights), testing, the per-class AP and the
    recall runs: the config's own data/toy/ is never what a run with another root trains on."""
    demo = load_tool('demo/demo')
    root = tmp_path / 'toy_seed1'
    make_tiny_voc(root, num_trainval=1, num_test=1)  # phases 1 and 2 done: training runs first
    (root / 'stand_in_imagenet_zf.pth').write_bytes(b'')
    commands = []

    def fake(cmd):
        commands.append(cmd)
        raise SystemExit('recorded')
    monkeypatch.setattr(demo, 'run', fake)
    with pytest.raises(SystemExit):
        demo.main(['--data-root', str(root), '--work-dir', str(tmp_path / 'work')])
    train = commands[-1]
    assert train[1] == 'tools/train.py', commands
    options = train[train.index('--cfg-options') + 1:]
    voc = osp.join(str(root), 'VOCdevkit') + '/'
    assert options == [f'train_dataloader.dataset.data_root={voc}', f'val_dataloader.dataset.data_root={voc}',
                       f'test_dataloader.dataset.data_root={voc}', 'randomness.seed=0',
                       f"model.init_cfg.checkpoint={root / 'stand_in_imagenet_zf.pth'}"]


def test_demo_seed_reaches_data_stand_in_and_training(tmp_path, monkeypatch):
    """--seed S: the toy data with seed S, the stand-in pre-training with S + 7 (never the demo's own
    images), training (and, through the same options, evaluation) with randomness.seed=S."""
    demo = load_tool('demo/demo')
    commands = []

    def fake(cmd):
        commands.append(cmd)
        if cmd[1] == 'tools/train.py':
            raise SystemExit('recorded')
    monkeypatch.setattr(demo, 'run', fake)
    with pytest.raises(SystemExit):
        demo.main(['--data-root', str(tmp_path / 'toy'), '--work-dir', str(tmp_path / 'work'), '--seed', '5'])
    data, stand_in, train = commands
    assert data[1] == 'tools/demo/make_toy_voc.py' and data[data.index('--seed') + 1] == '5'
    assert stand_in[1] == 'tools/demo/pretrain_toy_backbone.py' and stand_in[stand_in.index('--seed') + 1] == '12'
    assert 'randomness.seed=5' in train[train.index('--cfg-options') + 1:]


def test_demo_step_report_on_a_real_4_step_run(tmp_path):
    """A tiny 4-step training run with step 2 evaluated: the report's step-2 mAP is the one the hook
    logged, the recalls come from paper_table.py on the RPN steps' end checkpoints, every step has
    its s/iteration."""
    demo = load_tool('demo/demo')
    data_root = make_tiny_voc(tmp_path / 'voc', num_trainval=2, num_test=2)
    config = demo_config(tmp_path, data_root, window=1, step2_fast_rcnn=dict(evaluate=True))
    work = tmp_path / 'work'
    proc = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(work)], cwd=REPO,
                          env=tool_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    logged = [json.loads(line) for path in work.glob('*/vis_data/scalars.json') for line in path.open()]
    step2_map = [r['pascal_voc/mAP'] for r in logged if 'pascal_voc/mAP' in r]
    assert len(step2_map) == 1  # the hook evaluated step 2 once, at its end
    steps = demo.step_report(config, str(work), 0.25, 1, str(tmp_path / 'steps'), str(tmp_path / 'voc'), 0)
    assert steps[1]['value'] == pytest.approx(step2_map[0], abs=1e-4)
    assert steps[3]['value'] == 0.25
    for k in (0, 2):
        assert steps[k]['source'] == str(work / f"iter_{2 * (k + 1)}.pth")
        assert 0.0 <= steps[k]['value'] <= 1.0
        text = (tmp_path / 'steps' / steps[k]['name'] / 'recall.md').read_text()
        assert f"iter_{2 * (k + 1)}.pth" in text and '1 images' in text  # --recall-images
    assert all(s['seconds_per_iteration'] > 0 for s in steps)
