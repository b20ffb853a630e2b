"""The tools as a user runs them: errors the user caused are one line and exit status 1 (no
traceback unless --debug); test and inference load checkpoints strictly; test-time augmentation."""
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


def run(*args, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=tool_env(), capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert ': error: ' in last, proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in last, last


def save_checkpoint(cfg, path):
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': TOY_CLASSES}}}, path)
    return path


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny VOC tree, a ZF config on it, a matching ZF checkpoint and a (tiny-fc) VGG-16 one."""
    tmp = tmp_path_factory.mktemp('tools')
    data_root = make_tiny_voc(tmp / 'voc', num_trainval=1, num_test=2)
    zf = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp / 'work')
    zf.dump(str(tmp / 'zf.py'))
    vgg = tiny_config('configs/faster_rcnn_vgg16_joint_voc.py', data_root, tmp / 'work', fc_width=8)
    return dict(tmp=tmp, data_root=data_root, config=str(tmp / 'zf.py'),
                zf_ckpt=save_checkpoint(zf, str(tmp / 'zf.pth')), vgg_ckpt=save_checkpoint(vgg, str(tmp / 'vgg.pth')))


def test_config_not_found_is_one_line_and_debug_shows_the_traceback():
    assert_one_line_error(run('tools/train.py', 'configs/nope.py'), 'config file not found: configs/nope.py')
    assert_one_line_error(run('tools/misc/check_dataset.py', 'configs/nope.py'), 'config file not found')
    debug = run('tools/train.py', 'configs/nope.py', '--debug')
    assert debug.returncode != 0 and 'Traceback' in debug.stderr and 'UserFileNotFoundError' in debug.stderr


def test_missing_or_unreadable_checkpoint(tiny):
    assert_one_line_error(run('tools/test.py', tiny['config'], str(tiny['tmp'] / 'none.pth')),
                          'checkpoint not found')
    garbage = tiny['tmp'] / 'garbage.pth'
    garbage.write_bytes(b'this is not a checkpoint')
    assert_one_line_error(run('tools/test.py', tiny['config'], str(garbage)),
                          'garbage.pth: not a checkpoint that can be loaded safely')


def test_checkpoint_of_another_model_is_refused_by_test_and_infer(tiny):
    """A VGG-16 checkpoint on a ZF config: mmengine would warn and evaluate a partly random model."""
    proc = run('tools/test.py', tiny['config'], tiny['vgg_ckpt'])
    assert_one_line_error(proc, 'vgg.pth does not fit the model of this config', 'mis-shaped weights:',
                          'missing weights: backbone.conv1.weight')
    image = osp.join(tiny['data_root'], 'VOC2007', 'JPEGImages', '000002.jpg')
    proc = run('tools/misc/infer.py', tiny['config'], tiny['vgg_ckpt'], image, '--out-dir', str(tiny['tmp'] / 'pics'))
    assert_one_line_error(proc, 'vgg.pth does not fit the model of this config', 'backbone.conv1.weight')


def test_missing_dataset_names_the_list_and_where_voc_goes(tiny):
    empty = tiny['tmp'] / 'empty'
    empty.mkdir()
    proc = run('tools/train.py', tiny['config'], '--work-dir', str(tiny['tmp'] / 'w'),
               '--cfg-options', f'train_dataloader.dataset.data_root={empty}/')
    assert_one_line_error(proc, 'ImageSets/Main/trainval.txt', 'Train on real PASCAL VOC')


def test_tta_with_our_tool_and_with_mmdets(tiny):
    """tools/test.py --tta and mmdet's own test.py --tta both run our config (random weights: the
    merge itself is checked on hand-made views in tests/.../test_time_augs)."""
    proc = run('tools/test.py', tiny['config'], tiny['zf_ckpt'], '--tta', '--work-dir', str(tiny['tmp'] / 't1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pascal_voc/mAP' in proc.stdout + proc.stderr
    import mmdet
    mmdet_test = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    proc = run(mmdet_test, tiny['config'], tiny['zf_ckpt'], '--tta', '--work-dir', str(tiny['tmp'] / 't2'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pascal_voc/mAP' in proc.stdout + proc.stderr
