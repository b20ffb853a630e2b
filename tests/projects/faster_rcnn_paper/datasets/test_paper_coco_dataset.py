"""COCO-format data in both of the paper's training modes: the tiny generated VOC set written as COCO
json (tools/dataset_converters/voc_to_coco.py), the COCO configs shrunk as the VOC tests shrink
theirs, trained with tools/train.py (4-step and joint) and evaluated with mmdet's CocoMetric."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from faster_rcnn_paper.datasets import PaperCocoDataset, save_proposal_file
from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES
from faster_rcnn_paper.utils import UserFileNotFoundError, UserInputError
from tests.tiny import REPO, make_tiny_voc, tiny_config, tool_env
from tests.tools import load_tool


@pytest.fixture(scope='module')
def coco_data(tmp_path_factory):
    """(data_root, train json, test json): the tiny VOC tree and its COCO json files."""
    root = tmp_path_factory.mktemp('coco')
    devkit = make_tiny_voc(root, num_trainval=4, num_test=2)
    load_tool('dataset_converters/voc_to_coco').convert(devkit, str(root / 'annotations'), TOY_CLASSES)
    return devkit, str(root / 'annotations' / 'voc07_trainval.json'), str(root / 'annotations' / 'voc07_test.json')


def coco_config(config, coco_data, work_dir, **kwargs):
    """One of our COCO configs on the tiny COCO-format data (tiny_config's shrinking)."""
    data_root, train_json, test_json = coco_data
    cfg = tiny_config(config, data_root, work_dir, **kwargs)
    for key, ann_file in (('train_dataloader', train_json), ('val_dataloader', test_json),
                          ('test_dataloader', test_json)):
        cfg[key].dataset.update(ann_file=ann_file, data_prefix=dict(img=''))
    cfg.val_evaluator.ann_file = cfg.test_evaluator.ann_file = test_json
    # A few iterations from scratch score nothing above 0.05, and CocoMetric reports nothing then.
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    path = osp.join(str(work_dir), 'tiny_coco.py')
    cfg.dump(path)
    return path


def run(tool, *args):
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *map(str, args)], cwd=REPO,
                          env=tool_env(), capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    return log


def test_reads_npz_proposals_and_refuses_missing_ones(coco_data, tmp_path):
    data_root, train_json, _ = coco_data
    init_default_scope('mmdet')
    kwargs = dict(data_root=data_root, ann_file=train_json, data_prefix=dict(img=''),
                  metainfo=dict(classes=TOY_CLASSES), test_mode=True, pipeline=[])
    infos = PaperCocoDataset(**kwargs).load_data_list()
    keys = [osp.join(osp.basename(osp.dirname(i['img_path'])), osp.basename(i['img_path'])) for i in infos]
    boxes = {k: dict(bboxes=np.full((2, 4), i, np.float32), scores=np.ones(2, np.float32)) for i, k in enumerate(keys)}
    save_proposal_file(str(tmp_path / 'proposals.npz'), boxes)
    dataset = PaperCocoDataset(proposal_file=str(tmp_path / 'proposals.npz'), **kwargs)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        key = osp.join(osp.basename(osp.dirname(info['img_path'])), osp.basename(info['img_path']))
        assert np.array_equal(info['proposals']['bboxes'], boxes[key]['bboxes'])
    del boxes[keys[0]]
    save_proposal_file(str(tmp_path / 'partial.npz'), boxes)
    with pytest.raises(UserInputError, match='no proposals for 1 of the'):
        PaperCocoDataset(proposal_file=str(tmp_path / 'partial.npz'), **kwargs)
    with pytest.raises(UserFileNotFoundError, match=r'ann_file .*/absent.json: no such COCO json file'):
        PaperCocoDataset(**dict(kwargs, ann_file='absent.json'))


def test_check_dataset_reads_coco_format(coco_data, tmp_path):
    """tools/misc/check_dataset.py on a COCO-format config: every image decoded and checked; a
    missing image is an error (exit 1)."""
    config = coco_config('configs/faster_rcnn_vgg16_joint_coco.py', coco_data, tmp_path)
    log = run('misc/check_dataset.py', config)
    assert 'checked 6 images: 0 error(s)' in log  # 4 train + 2 test (val = test, checked once)
    data_root, _, test_json = coco_data
    images = json.loads(open(test_json).read())['images']
    images[0]['file_name'] = 'VOC2007/JPEGImages/absent.jpg'
    broken = tmp_path / 'broken_test.json'
    broken.write_text(json.dumps(dict(json.loads(open(test_json).read()), images=images)))
    cfg = Config.fromfile(config)
    cfg.val_dataloader.dataset.ann_file = str(broken)
    cfg.dump(config)
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'misc', 'check_dataset.py'), config,
                           '--split', 'val'], cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and 'absent.jpg: cannot be read as an image' in proc.stdout


def test_four_step_training_on_coco_json_evaluates_with_coco_metric(coco_data, tmp_path):
    config = coco_config('configs/faster_rcnn_vgg16_alternating_coco.py', coco_data, tmp_path, stage_iters=1)
    log = run('train.py', config, '--work-dir', tmp_path)
    assert "Stage 4/4 'step4_fast_rcnn'" in log
    assert osp.isfile(tmp_path / 'alternating' / 'proposals' / 'step3_rpn_train.npz')
    log = run('test.py', config, tmp_path / 'faster_rcnn_final.pth', '--work-dir', tmp_path / 'test')
    assert 'coco/bbox_mAP:' in log and 'coco/bbox_mAP_50:' in log


def test_joint_training_on_coco_json_evaluates_with_coco_metric(coco_data, tmp_path):
    config = coco_config('configs/faster_rcnn_vgg16_joint_coco.py', coco_data, tmp_path, joint_iters=2)
    log = run('train.py', config, '--work-dir', tmp_path)
    assert 'Iter(train) [2/2]' in log and 'coco/bbox_mAP:' in log
