"""The ImageNet-initialisation check: a missing converted checkpoint stops training with one line
naming the file, the paper's source model and the convert command; none configured means from
scratch."""
import os.path as osp
import subprocess
import sys

import pytest

from faster_rcnn_paper.models.backbones.imagenet_initialisation import check_imagenet_initialisation
from faster_rcnn_paper.utils import UserFileNotFoundError
from tests.tiny import REPO, tool_env

CONVERT = 'python tools/model_converters/convert_imagenet_weights.py'


def pretrained(path):
    return dict(type='Pretrained', checkpoint=str(path))


def test_missing_vgg16_checkpoint_names_file_source_and_command():
    with pytest.raises(UserFileNotFoundError) as info:
        check_imagenet_initialisation(pretrained('checkpoints/vgg16_caffe_layout.pth'), dict(type='VGG16'))
    message = str(info.value)
    assert message.startswith('model.init_cfg.checkpoint: checkpoints/vgg16_caffe_layout.pth does not exist')
    assert 'VGG16.v2.caffemodel' in message and 'fetch_imagenet_models.sh' in message
    assert f'{CONVERT} vgg16-caffe VGG16.v2.caffemodel checkpoints/vgg16_caffe_layout.pth' in message
    assert 'vgg16-torchvision' in message and 'model.init_cfg=None' in message
    assert '\n' not in message


def test_missing_zf_checkpoint_on_the_backbone(tmp_path):
    backbone = dict(type='ZFNet', init_cfg=pretrained(tmp_path / 'zf.pth'))
    with pytest.raises(UserFileNotFoundError, match=rf'^model.backbone.init_cfg.checkpoint: {tmp_path}/zf.pth '
                                                    rf'.*{CONVERT} zf-caffe ZF.v2.caffemodel {tmp_path}/zf.pth'):
        check_imagenet_initialisation(None, backbone)


def test_present_remote_and_absent_checkpoints(tmp_path):
    weights = tmp_path / 'vgg16.pth'
    weights.write_bytes(b'')
    assert check_imagenet_initialisation([dict(type='Xavier'), pretrained(weights)], dict(type='VGG16')) == (
        'model.init_cfg.checkpoint', str(weights))
    url = 'https://example.org/vgg16.pth'  # fetched by mmengine, not checked here
    assert check_imagenet_initialisation(pretrained(url), dict(type='VGG16'))[1] == url
    # no Pretrained entry anywhere: from scratch (the backbone's own Kaiming init_cfg)
    assert check_imagenet_initialisation(None, dict(type='VGG16', init_cfg=dict(type='Kaiming'))) == (None, None)


def test_detector_init_weights_refuses_a_missing_checkpoint(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'faster_rcnn_zf_voc.py'))
    cfg.model.init_cfg.checkpoint = str(tmp_path / 'zf_caffe_layout.pth')
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    with pytest.raises(UserFileNotFoundError, match='zf_caffe_layout.pth does not exist'):
        model.init_weights()


def test_train_py_stops_in_one_line_before_building_anything(tmp_path):
    """The headline command without the weights (cwd without checkpoints/): exit 1, one line."""
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'),
                           osp.join(REPO, 'configs', 'faster_rcnn_vgg16_voc.py'), '--work-dir', str(tmp_path / 'w')],
                          cwd=str(tmp_path), env=tool_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stdout == ''
    (line, ) = proc.stderr.strip().splitlines()
    assert line.startswith('train.py: error: model.init_cfg.checkpoint: checkpoints/vgg16_caffe_layout.pth')
    assert f'{CONVERT} vgg16-caffe VGG16.v2.caffemodel checkpoints/vgg16_caffe_layout.pth' in line
    assert not (tmp_path / 'w').exists()  # nothing built, nothing written
