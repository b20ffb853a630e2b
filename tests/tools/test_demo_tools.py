"""The demo's tools: stand-in pre-training, inference pictures + JSON, loss curve."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.datasets.toy_voc import TOY_CLASSES
from faster_rcnn_paper.utils.toy_pretraining import pretrain_on_toy_crops, pretrain_on_toy_images, toy_crops
from mmdet.registry import MODELS
from tests.tiny import REPO, make_tiny_voc, tiny_config, tool_env


def test_toy_crops_cover_classes_and_background():
    crops, labels = toy_crops(seed=3, num_images=30, crop_size=32)
    assert crops.shape[1:] == (32, 32, 3) and crops.dtype == np.uint8
    assert set(labels.tolist()) == set(range(len(TOY_CLASSES) + 1))  # 5 shapes + background


def test_stand_in_weights_load_through_init_cfg(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_joint_voc.py'))
    init_default_scope('mmdet')
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    out = str(tmp_path / 'stand_in.pth')
    summary = pretrain_on_toy_crops(backbone, in_channels=256, roi_size=6, fc_channels=64,
                                    pixel_mean=cfg.model.data_preprocessor.mean, out_file=out,
                                    iters=2, batch_size=4, crop_size=48, num_images=6)
    assert summary['iters'] == 2 and 0 <= summary['held_out_accuracy'] <= 1
    saved = torch.load(out, weights_only=True)['state_dict']
    assert saved['backbone.conv1.weight'].shape == (96, 3, 7, 7)
    assert saved['roi_head.bbox_head.fc6.weight'].shape == (64, 256 * 36)
    cfg.model.roi_head.bbox_head.fc_out_channels = 64
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=out)
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    assert torch.equal(detector.backbone.conv5.weight, saved['backbone.conv5.weight'])
    assert torch.equal(detector.roi_head.bbox_head.fc7.bias, saved['roi_head.bbox_head.fc7.bias'])


def test_region_stand_in_trains_through_roi_pooling_and_loads(tmp_path):
    """The demo's default stand-in: regions of whole images at the detector's scale, pooled by the
    detector's RoI pooling; saved in the converted-ImageNet layout."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_joint_voc.py'))
    init_default_scope('mmdet')
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    before = backbone.conv5.weight.detach().clone()
    out = str(tmp_path / 'stand_in_regions.pth')
    summary = pretrain_on_toy_images(backbone, in_channels=256, roi_size=6, fc_channels=64,
                                     pixel_mean=cfg.model.data_preprocessor.mean, out_file=out,
                                     scale=(160, 96), caffe_dropout=True, iters=2, num_images=4,
                                     jitters=1, num_background=2)
    assert summary['stand_in'] == 'regions' and 0 <= summary['held_out_accuracy'] <= 1
    saved = torch.load(out, weights_only=True)['state_dict']
    assert not torch.equal(saved['backbone.conv5.weight'], before)  # it trained
    assert saved['roi_head.bbox_head.fc6.weight'].shape == (64, 256 * 36)
    assert not osp.exists(out + '.tmp')


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
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from plot_losses import plot, read_scalars
    run = tmp_path / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = [dict(iter=i, loss=1.0 / i, loss_rpn_cls=1.0 / i) for i in range(1, 6)]
    lines += [dict(iter=i, loss=2.0 / i, loss_cls=2.0 / i, loss_bbox=0.0) for i in range(6, 11)]
    (run / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    (tmp_path / 'alternating').mkdir()
    (tmp_path / 'alternating' / 'stages.json').write_text(json.dumps(
        [dict(name='step1_rpn', mode='rpn', begin=0, end=5), dict(name='step2_fast_rcnn', mode='fast_rcnn', begin=5, end=10)]))
    assert list(read_scalars(str(tmp_path))) == list(range(1, 11))
    out = plot(str(tmp_path), str(tmp_path / 'curve.png'))
    assert osp.getsize(out) > 1000


def test_demo_summary_checks_its_targets():
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from demo import target_report
    assert target_report(0.392, 15.0, 0.85, 15) == ['target mAP >= 0.85: NOT met (0.392)',
                                                    'target time <= 15 min: met (15.0 min)']
    assert target_report(0.9, 15.2, 0.85, 15)[0].endswith('met (0.900)')
    assert 'NOT met (15.2 min)' in target_report(0.9, 15.2, 0.85, 15)[1]
