"""The demo's tools: inference pictures + JSON, loss curve, the demo's summary (the stand-in
pre-training is tested in tests/projects/faster_rcnn_paper/demo/)."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.datasets.proposal_file import load_proposal_file, proposal_key, save_proposal_file
from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES
from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg
from faster_rcnn_paper.engine.run_record import PROPOSALS_KEY, proposal_file
from faster_rcnn_paper.utils.mmengine_private import fresh_global_instances
from faster_rcnn_paper.utils.tool_errors import run_tool
from mmdet.registry import MODELS
from tests.tiny import REPO, TINY_SCALE, make_tiny_voc, tiny_config, tool_env
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


def fake_run(work, step2_map, step1_weights=None):
    """A finished 4-step work dir, without the weights: stages.json, a JSON log (logged every 2
    iterations; step k runs at k s/iteration, the first line of a step is slow: the time between
    steps) and the stage-end checkpoints, the last one with the hook's step-2 metrics and, with
    ``step1_weights``, the fingerprint of the weights step 1's proposal files came from."""
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
    if step1_weights is not None:
        runtime_info[PROPOSALS_KEY] = {'step1_rpn': step1_weights}
    torch.save({'meta': {}, 'state_dict': {}, 'message_hub': dict(log_scalars={}, runtime_info=runtime_info,
                                                                  resumed_keys={})}, str(work / 'iter_40.pth'))


def fake_paper_table_recall(recalls, calls):
    """``demo.run`` for tools/paper/paper_table.py recall, without the model: records the call and
    returns the recall its checkpoint has in ``recalls``."""
    def run(script, argv):
        calls.append((script, argv))
        return dict(iou=np.array([0.45, 0.5, 0.55]), proposal_nums=[300],
                    recall=np.array([[1.0, recalls[osp.basename(argv[2])], 0.1]]))
    return run


def test_demo_summary_gives_each_steps_contribution_and_speed(tmp_path, monkeypatch):
    demo = load_tool('demo/demo')
    config = demo_config(tmp_path, str(tmp_path / 'voc'), window=2)
    work = tmp_path / 'work'
    fake_run(work, step2_map=0.4123)  # no val-set proposal file: both RPN steps from their checkpoints
    calls = []
    monkeypatch.setattr(demo, 'run', fake_paper_table_recall({'iter_10.pth': 0.8, 'iter_30.pth': 0.9}, calls))
    steps = demo.step_report(config, str(work), 0.5349, 7, str(tmp_path / 'steps'), '/elsewhere/toy', 4)
    # the RPN steps' end checkpoints, steps 1 and 3
    assert [(script, argv[:3]) for script, argv in calls] == [
        ('tools/paper/paper_table.py', ['recall', config, str(work / 'iter_10.pth')]),
        ('tools/paper/paper_table.py', ['recall', config, str(work / 'iter_30.pth')])]
    for _, argv in calls:
        assert argv[argv.index('--proposal-nums') + 1] == '300'
        options = argv[argv.index('--cfg-options') + 1:]
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
        '(recall on 7 test images, step 1: the RPN of its end checkpoint, step 3: the RPN of its end '
        'checkpoint; step 2: its detector on step-1 proposals, the paper\'s "unshared" model; step 4: the final '
        'model)',
        '',
        'class      AP@0.5 (VOC07 11-point), final model',
        'circle     0.600',
        'square     0.469',
        'mAP        0.535',
        'time: data 0.1 min, pretrain 2.0 min, train 10.0 min, test 0.5 min, steps 0.8 min, pictures 0.2 min; '
        'total 13.6 min']
    # beside each phase that ran whole, its seconds per unit (what a reader on another machine scales by)
    work = {'pretrain': (300, 'iterations'), 'train': (1450, 'iterations'), 'test': (100, 'images')}
    assert demo.summary_lines(steps, {}, 0.5349, times, 816.0, 7, work)[-1] == (
        'time: data 0.1 min, pretrain 2.0 min (300 iterations, 0.40 s each), train 10.0 min (1450 iterations, '
        '0.41 s each), test 0.5 min (100 images, 0.30 s each), steps 0.8 min, pictures 0.2 min; total 13.6 min')


@pytest.mark.parametrize('made_by', ['the recorded weights', 'other weights'])
def test_demo_step1_recall_from_the_val_proposals_of_its_weights(tmp_path, monkeypatch, made_by):
    """Step 1's val-set proposal file (written for step 2's evaluation) gives its recall without an
    RPN pass, if the run recorded its weights as those that made it; otherwise (e.g. a file left
    from an earlier run) the step-1 checkpoint's RPN does."""
    demo = load_tool('demo/demo')
    config = demo_config(tmp_path, str(tmp_path / 'voc'), window=2)
    work = tmp_path / 'work'
    fake_run(work, step2_map=0.4, step1_weights='0123abcd')
    path = proposal_file(str(work), 'step1_rpn', 'val')
    weights = '0123abcd' if made_by == 'the recorded weights' else 'ffffffff'
    save_proposal_file(path, {}, dict(stage='step1_rpn', iter=10, weights=weights))
    calls = []
    monkeypatch.setattr(demo, 'run', fake_paper_table_recall({'iter_10.pth': 0.8, 'iter_30.pth': 0.9}, calls))
    monkeypatch.setattr(demo, 'file_recall', lambda config, path, n, data_root: calls.append(path) or 0.7)
    steps = demo.step_report(config, str(work), 0.5, 7, str(tmp_path / 'steps'), str(tmp_path / 'toy'), 0)
    recalled = [c if isinstance(c, str) else osp.basename(c[1][2]) for c in calls]
    if made_by == 'the recorded weights':
        assert recalled == [path, 'iter_30.pth'] and steps[0]['value'] == 0.7 and steps[0]['source'] == path
        assert steps[0]['proposals'] == 'the val-set proposals its RPN wrote in training (val split = test split)'
    else:
        assert recalled == ['iter_10.pth', 'iter_30.pth'] and steps[0]['value'] == 0.8
    assert steps[2]['value'] == 0.9


def test_demo_summary_says_why_a_step_has_no_number(tmp_path, monkeypatch):
    demo = load_tool('demo/demo')
    config = demo_config(tmp_path, str(tmp_path / 'voc'), window=2)
    work = tmp_path / 'work'
    fake_run(work, step2_map=None)  # step 2 ran with evaluate=False
    os.remove(work / 'iter_30.pth')
    monkeypatch.setattr(demo, 'rpn_recall', lambda config, ckpt, out, n, data_root, seed: 0.5)
    steps = demo.step_report(config, str(work), 0.5, 100, str(tmp_path / 'steps'), 'data/toy', 0)
    assert steps[1]['value'] is None and 'evaluate=False for step2_fast_rcnn' in steps[1]['note']
    assert steps[2]['value'] is None and 'iter_30.pth not found' in steps[2]['note']
    lines = demo.format_steps(steps)
    assert lines[2].endswith('mAP (VOC07 11-point) n/a: not evaluated during training (the config sets '
                             'evaluate=False for step2_fast_rcnn)')


def record_phases(demo, monkeypatch, stop_at='tools/train.py'):
    """Replaces the demo's in-process tool calls by a record of (script, argv); stops at ``stop_at``."""
    phases = []

    def fake(script, argv):
        phases.append((script, argv))
        if script == stop_at:
            raise SystemExit('recorded')
    monkeypatch.setattr(demo, 'run', fake)
    return phases


def test_demo_points_every_tool_at_its_data_root(tmp_path, monkeypatch):
    """--data-root reaches training (data and stand-in weights), testing, the per-class AP and the
    recall runs: the config's own data/toy/ is never what a run with another root trains on."""
    demo = load_tool('demo/demo')
    root = tmp_path / 'toy_seed1'
    make_tiny_voc(root, num_trainval=1, num_test=1)  # phases 1 and 2 done: training runs first
    (root / 'stand_in_imagenet_zf.pth').write_bytes(b'')
    phases = record_phases(demo, monkeypatch)
    with pytest.raises(SystemExit):
        demo.main(['--data-root', str(root), '--work-dir', str(tmp_path / 'work')])
    assert [script for script, _ in phases] == ['tools/train.py']
    train = phases[0][1]
    options = train[train.index('--cfg-options') + 1:]
    voc = osp.join(str(root), 'VOCdevkit') + '/'
    assert options == [f'train_dataloader.dataset.data_root={voc}', f'val_dataloader.dataset.data_root={voc}',
                       f'test_dataloader.dataset.data_root={voc}', 'randomness.seed=0',
                       f"model.init_cfg.checkpoint={root / 'stand_in_imagenet_zf.pth'}"]


def test_demo_seed_reaches_data_stand_in_and_training(tmp_path, monkeypatch, capsys):
    """--seed S: the toy data with seed S, the stand-in pre-training with S + 7 (never the demo's own
    images), training (and, through the same options, evaluation) with randomness.seed=S. Each
    phase is printed as the command line that runs it by hand from the repository root."""
    demo = load_tool('demo/demo')
    phases = record_phases(demo, monkeypatch)
    with pytest.raises(SystemExit):
        demo.main(['--data-root', str(tmp_path / 'toy'), '--work-dir', str(tmp_path / 'work'), '--seed', '5'])
    (_, data), (_, stand_in), (_, train) = phases
    assert [script for script, _ in phases] == [
        'tools/demo/make_toy_voc.py', 'tools/demo/pretrain_toy_backbone.py', 'tools/train.py']
    assert data[data.index('--seed') + 1] == '5'
    assert stand_in[stand_in.index('--seed') + 1] == '12'
    assert 'randomness.seed=5' in train[train.index('--cfg-options') + 1:]
    assert demo.command_line('tools/train.py', [demo.CONFIG, '--work-dir', osp.join(REPO, 'work_dirs', 'x'),
                                                f"a.data_root={osp.join(REPO, 'data', 'toy')}/"]) == \
        ('python tools/train.py configs/faster_rcnn_zf_alternating_toyvoc.py --work-dir work_dirs/x '
         'a.data_root=data/toy/')


# ----------------------------------------------------------------- the whole demo, in one process
@pytest.fixture(scope='module')
def tiny_demo(tmp_path_factory):
    """``demo.main`` on a tiny version of the demo config (2 iterations per step, step 2 evaluated,
    images at the tests' scale) and 2 + 2 toy images, every phase in this process; what it returns,
    the tools it ran and its arguments."""
    tmp = tmp_path_factory.mktemp('demo')
    demo = load_tool('demo/demo')
    cfg = tiny_config(DEMO_CONFIG, str(tmp / 'unused'), tmp / 'unused')
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint='the demo passes the stand-in weights')
    cfg.img_scale = TINY_SCALE  # the toy images are made at this scale
    # step 2 evaluated (the demo config leaves it out for time): its val-set proposals and mAP are tested
    alternating_hook_cfg(cfg).stages.step2_fast_rcnn.evaluate = True
    config = str(tmp / 'tiny_demo_config.py')
    cfg.dump(config)
    argv = ['--data-root', str(tmp / 'toy'), '--work-dir', str(tmp / 'work'), '--num-trainval', '2',
            '--num-test', '2', '--pretrain-iters', '2', '--recall-images', '2', '--pictures', '2', '--seed', '1']
    phases = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, 'CONFIG', config)
        # phase 2 done beforehand on 4 images (the demo's 300 take a while to draw): the demo skips it
        demo.run('tools/demo/pretrain_toy_backbone.py', [config, str(tmp / 'toy' / 'stand_in_imagenet_zf.pth'),
                                                         '--iters', '2', '--num-images', '4'])
        in_process = demo.run
        for name in ('first', 'again'):  # again: as an interrupted demo run anew, on what is there
            phases[name] = []
            patch.setattr(demo, 'run', lambda script, args: phases[name].append(script) or in_process(script, args))
            phases[name + ' summary'] = demo.main(argv)
    return dict(demo=demo, config=config, summary=phases['first summary'], phases=phases, root=tmp)


def test_demo_runs_every_phase_in_one_process(tiny_demo):
    """Every tool's main in this process, the training and the test runner one after the other; the
    step-1 recall from the val-set proposals written in training, step 3's from paper_table.py."""
    summary, work = tiny_demo['summary'], tiny_demo['root'] / 'work'
    assert tiny_demo['phases']['first'] == [
        'tools/demo/make_toy_voc.py', 'tools/train.py', 'tools/test.py', 'tools/paper/paper_table.py',
        'tools/misc/infer.py', 'tools/demo/detection_grid.py', 'tools/analysis_tools/plot_losses.py']
    steps = summary['steps']
    assert steps[0]['source'] == proposal_file(str(work), 'step1_rpn', 'val')
    assert steps[2]['source'] == str(work / 'iter_6.pth')
    text = (work / 'steps' / 'step3_rpn' / 'recall.md').read_text()
    assert 'iter_6.pth' in text and '2 images' in text  # --recall-images
    assert not (work / 'steps' / 'step1_rpn').exists()  # no RPN pass for step 1
    assert all(0.0 <= s['value'] <= 1.0 for s in steps) and all(s['seconds_per_iteration'] > 0 for s in steps)
    logged = [json.loads(line) for path in work.glob('*/vis_data/scalars.json') for line in path.open()]
    step2_map = [r['pascal_voc/mAP'] for r in logged if 'pascal_voc/mAP' in r]
    assert step2_map == [pytest.approx(steps[1]['value'], abs=1e-4)]  # the hook evaluated step 2 once
    assert steps[3]['value'] == summary['mAP'] and set(summary['AP']) == set(TOY_CLASSES)
    assert osp.getsize(summary['grid']) > 1000 and osp.getsize(summary['loss_curve']) > 1000
    assert list(summary['seconds']) == ['data', 'pretrain', 'train', 'test', 'steps', 'pictures']
    # each test runner (one per demo run) had a visualizer of its own, not the training run's
    test_runs = list((work / 'test').glob('*/vis_data'))
    assert len(test_runs) == 2 and all((run / 'config.py').is_file() for run in test_runs)


def test_demo_run_again_skips_what_is_there(tiny_demo):
    """A demo run again on its data and work dir (an interrupted one, or --fresh left out) skips data,
    stand-in and training, and, in the same process, reports the same numbers."""
    phases = tiny_demo['phases']
    assert phases['again'] == ['tools/test.py', 'tools/paper/paper_table.py', 'tools/misc/infer.py',
                               'tools/demo/detection_grid.py', 'tools/analysis_tools/plot_losses.py']
    first, again = phases['first summary'], phases['again summary']
    assert (again['mAP'], again['AP'], again['steps']) == (first['mAP'], first['AP'], first['steps'])
    assert again['seconds']['train'] < first['seconds']['train']
    summary_file = tiny_demo['root'] / 'work' / 'demo_summary.json'
    assert json.loads(summary_file.read_text()) == json.loads(json.dumps(again))


def test_demo_phase_errors_are_one_line(tmp_path, capsys):
    """A phase's error the user caused ends the demo with one line naming the phase's tool."""
    demo = load_tool('demo/demo')
    status = run_tool(lambda argv: demo.run('tools/misc/infer.py', [demo.CONFIG, str(tmp_path / 'model.pth'),
                                                                    'missing.jpg', '--out-dir', str(tmp_path)]))
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1 and 'error: tools/misc/infer.py: image not found: missing.jpg' in err[0]


def test_demo_test_phase_gives_the_map_of_its_own_process(tiny_demo):
    """tools/test.py in the demo's process, after the training runner, predicts exactly what it
    predicts in a process of its own on the same checkpoint: the same detections, the same mAP."""
    demo, work = tiny_demo['demo'], tiny_demo['root'] / 'work'
    data_root = str(tiny_demo['root'] / 'toy')
    out = tiny_demo['root'] / 'own_process.pkl'
    proc = subprocess.run([sys.executable, 'tools/test.py', tiny_demo['config'], str(work / 'faster_rcnn_final.pth'),
                           '--work-dir', str(tiny_demo['root'] / 'own_process'), '--out', str(out),
                           '--cfg-options', *demo.data_root_options(data_root, 1)],
                          cwd=REPO, env=dict(tool_env(), OMP_NUM_THREADS=str(torch.get_num_threads())),  # as here
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(work / 'test' / 'results.pkl', 'rb') as f:
        in_demo = pickle.load(f)
    with open(out, 'rb') as f:
        own = pickle.load(f)
    assert [r['img_path'] for r in in_demo] == [r['img_path'] for r in own]
    for a, b in zip(in_demo, own):
        assert len(a['pred_instances']['scores']) > 0
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(a['pred_instances'][key], b['pred_instances'][key])
    mean_ap, class_ap = demo.per_class_ap(tiny_demo['config'], str(out), data_root)
    assert (round(mean_ap, 4), {k: round(v, 4) for k, v in class_ap.items()}) == \
        (tiny_demo['summary']['mAP'], tiny_demo['summary']['AP'])


def test_demo_step1_recall_from_its_proposal_file_is_paper_tables(tiny_demo, tmp_path):
    """The step-1 recall read from the val-set proposal file equals tools/paper/paper_table.py
    recall on the step-1 checkpoint: the file holds exactly the boxes that checkpoint's RPN proposes
    on the test split (val split = test split), and both go through one recall function."""
    demo, work = tiny_demo['demo'], tiny_demo['root'] / 'work'
    data_root, config = str(tiny_demo['root'] / 'toy'), tiny_demo['config']
    path, checkpoint = proposal_file(str(work), 'step1_rpn', 'val'), str(work / 'iter_2.pth')
    from_file = demo.file_recall(config, path, 2, data_root)
    options = ['test_dataloader.dataset.indices=2', *demo.data_root_options(data_root, 1)]
    result = demo.run('tools/paper/paper_table.py', ['recall', config, checkpoint, '--proposal-nums', '300',
                                                     '--out-dir', str(tmp_path / 'recall'), '--cfg-options', *options])
    assert from_file == result['recall'][0][list(result['iou']).index(0.5)]
    assert tiny_demo['summary']['steps'][0]['value'] == round(from_file, 4)
    # the boxes themselves (after 2 iterations the recall at IoU 0.5 may be 0 either way): the file's are
    # those paper_table.py's RPN pass gives
    table = load_tool('paper/paper_table')
    cfg = table.load_config(config, {'test_dataloader.dataset.data_root': demo.voc_root(data_root)})
    with fresh_global_instances():
        runner = table.build_test_runner(cfg, checkpoint, str(tmp_path / 'runner'))
        _, proposals = table.collect_proposals(runner, dict(cfg.model.test_cfg.rpn, max_per_img=300))
        dataset = runner.test_dataloader.dataset
        images = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    in_file, _ = load_proposal_file(path)
    assert len(images) == 2 and sorted(in_file) == sorted(proposal_key(p) for p in images)
    for image, boxes in zip(images, proposals):
        assert len(boxes) > 0 and np.array_equal(in_file[proposal_key(image)]['bboxes'], boxes)
