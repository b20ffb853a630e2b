"""The demo's tools: inference pictures + JSON, loss curve, the demo's summary (the stand-in
pre-training is tested in tests/projects/faster_rcnn_paper/demo/)."""
import json
import os
import os.path as osp
import subprocess
import sys

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
    proc = subprocess.run([sys.executable, 'tools/infer.py', config, ckpt, *images, '--out-dir', str(out),
                           '--score-thr', '0.0'], cwd=REPO, env=tool_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(out)) == ['000002.png', '000003.png', 'detections.json']
    report = json.loads((out / 'detections.json').read_text())
    assert [r['image'] for r in report] == images
    for det in report[0]['detections']:
        assert det['class'] in TOY_CLASSES and len(det['bbox']) == 4 and 0 <= det['score'] <= 1
    # tools/infer.py is a thin layer over mmdet's DetInferencer, which takes our config as it is
    from mmdet.apis import DetInferencer
    pred = DetInferencer(model=config, weights=ckpt, device='cpu', show_progress=False)(
        images[0], return_datasamples=True)['predictions'][0].pred_instances
    keep = pred.scores > 0.0
    assert [[round(float(v), 1) for v in box] for box in pred.bboxes[keep]] == \
        [det['bbox'] for det in report[0]['detections']]
    bad = subprocess.run([sys.executable, 'tools/infer.py', config, ckpt, 'missing.jpg', '--out-dir', str(out)],
                         cwd=REPO, env=tool_env(), capture_output=True, text=True)
    assert bad.returncode != 0 and 'image not found: missing.jpg' in bad.stderr


def test_plot_losses(tmp_path):
    plot_losses = load_tool('plot_losses')
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
    target_report = load_tool('demo').target_report
    assert target_report(0.392, 15.0, 0.85, 15) == ['target mAP >= 0.85: NOT met (0.392)',
                                                    'target time <= 15 min: met (15.0 min)']
    assert target_report(0.9, 15.2, 0.85, 15)[0].endswith('met (0.900)')
    assert 'NOT met (15.2 min)' in target_report(0.9, 15.2, 0.85, 15)[1]
