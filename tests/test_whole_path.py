"""A downstream team's whole path, as subprocesses of the tools, each step checked to produce what
the next needs: a VOC-layout tree with the team's own classes and py-faster-rcnn's ImageNet ZF model
(a generated ``ZF.v2.caffemodel``: the real layer names and shapes, random values) -> convert ->
a child config that inherits the headline ZF config by package reference -> check_dataset ->
4-step training (1 iteration per step, tiny images) -> test.py -> infer.py."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import torch

from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES
from tests.caffemodel_writer import write_caffemodel
from tests.tiny import REPO, make_tiny_voc, tool_env

ZF_LAYERS = {  # py-faster-rcnn's ZF (ImageNet): weight shapes; fc8 is the ImageNet classifier
    'conv1': (96, 3, 7, 7), 'conv2': (256, 96, 5, 5), 'conv3': (384, 256, 3, 3), 'conv4': (384, 384, 3, 3),
    'conv5': (256, 384, 3, 3), 'fc6': (4096, 9216), 'fc7': (4096, 4096), 'fc8': (1000, 4096)}

CHILD_CONFIG = """\
_base_ = [__import__('faster_rcnn_paper').config_path('faster_rcnn_zf_voc.py')]

classes = {classes!r}
data_root = {data_root!r}
model = dict(init_cfg=dict(checkpoint={weights!r}), roi_head=dict(bbox_head=dict(num_classes=len(classes))))
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
custom_hooks = _base_.custom_hooks
custom_hooks[0].stages.step1_rpn.max_iters = 1
custom_hooks[0].stages.step2_fast_rcnn.max_iters = 1
custom_hooks[0].stages.step3_rpn.max_iters = 1
custom_hooks[0].stages.step4_fast_rcnn.max_iters = 1
train_cfg = dict(max_iters=4)  # the stages' sum
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=100, max_keep_ckpts=1))
log_processor = dict(window_size=1)
"""


def run(*args, cwd):
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=str(cwd), env=tool_env(), capture_output=True,
                          text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{args[0]}: ' + log[-3000:]
    return log


def test_caffemodel_to_detections(tmp_path):
    devkit = make_tiny_voc(tmp_path / 'data', num_trainval=2, num_test=1)
    rng = np.random.default_rng(0)
    blobs = {name: [(rng.standard_normal(shape) * 0.01).astype(np.float32), np.zeros(shape[0], np.float32)]
             for name, shape in ZF_LAYERS.items()}
    write_caffemodel(tmp_path / 'ZF.v2.caffemodel', blobs)
    tool = lambda name: osp.join(REPO, 'tools', name)  # noqa: E731

    weights = tmp_path / 'checkpoints' / 'zf_caffe_layout.pth'
    run(tool('model_converters/convert_imagenet_weights.py'), 'zf-caffe', tmp_path / 'ZF.v2.caffemodel', weights,
        cwd=tmp_path)
    converted = torch.load(weights, map_location='cpu', weights_only=True)['state_dict']
    assert torch.equal(converted['backbone.conv1.weight'], torch.from_numpy(blobs['conv1'][0]))

    config = tmp_path / 'team_zf_voc.py'
    config.write_text(CHILD_CONFIG.format(classes=tuple(TOY_CLASSES), data_root=devkit, weights=str(weights)))
    log = run(tool('misc/check_dataset.py'), config, cwd=tmp_path)
    assert 'images: 0 error(s)' in log  # (exit status 0: no errors)

    work = tmp_path / 'work'
    log = run(tool('train.py'), config, '--work-dir', work, cwd=tmp_path)
    assert f'Loads checkpoint by local backend from path: {weights}' in log
    assert "Stage 4/4 'step4_fast_rcnn'" in log
    final = work / 'faster_rcnn_final.pth'
    assert final.is_file()

    log = run(tool('test.py'), config, final, '--work-dir', work / 'test', cwd=tmp_path)
    assert 'pascal_voc/mAP' in log

    image = next((tmp_path / 'data' / 'VOCdevkit' / 'VOC2007' / 'JPEGImages').iterdir())
    run(tool('misc/infer.py'), config, final, image, '--out-dir', tmp_path / 'detections', '--score-thr', 0,
        cwd=tmp_path)
    (entry, ) = json.loads((tmp_path / 'detections' / 'detections.json').read_text())
    assert entry['image'].endswith(image.name) and (tmp_path / 'detections' / f'{image.stem}.png').is_file()
    assert all(d['class'] in TOY_CLASSES for d in entry['detections'])
    scores = [d['score'] for d in entry['detections']]
    assert scores == sorted(scores, reverse=True)
