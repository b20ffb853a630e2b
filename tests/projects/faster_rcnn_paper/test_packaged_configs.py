"""The paper configs inside the package (faster_rcnn_paper.config_path): in the checkout, and from a
real non-editable install, where a child config in another folder inherits them and trains with
MMDetection's own tools/train.py."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import mmdet
import pytest
from mmengine.config import Config

import faster_rcnn_paper
from faster_rcnn_paper.utils import UserFileNotFoundError
from tests.tiny import REPO, make_tiny_voc

# What `pip install .` builds from (setup.py, MANIFEST.in), copied so the build leaves the checkout alone.
SOURCES = ('setup.py', 'pyproject.toml', 'MANIFEST.in', 'requirements', 'configs', 'projects', 'custom_ops')


def test_config_path_in_the_checkout():
    assert faster_rcnn_paper.config_path('faster_rcnn_vgg16_voc.py') == osp.join(REPO, 'configs',
                                                                                'faster_rcnn_vgg16_voc.py')
    assert osp.isfile(faster_rcnn_paper.config_path('_base_/models/faster_rcnn_zf.py'))
    with pytest.raises(UserFileNotFoundError, match=r"config_path\('faster_rcnn_vgg19_voc.py'\)"):
        faster_rcnn_paper.config_path('faster_rcnn_vgg19_voc.py')


def test_child_config_mixes_package_and_mmdet_bases(tmp_path):
    (tmp_path / 'team.py').write_text(
        "_base_ = [\n"
        "    __import__('faster_rcnn_paper').config_path('_base_/models/faster_rcnn_zf.py'),\n"
        "    'mmdet::_base_/datasets/coco_detection.py',\n"
        "    'mmdet::_base_/schedules/schedule_1x.py',\n"
        "    __import__('faster_rcnn_paper').config_path('_base_/default_runtime.py'),\n"
        "]\n"
        "model = dict(roi_head=dict(bbox_head=dict(num_classes=80)))\n")
    cfg = Config.fromfile(str(tmp_path / 'team.py'))
    assert cfg.model.backbone.type == 'ZFNet' and cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'


CHILD = """\
_base_ = [__import__('faster_rcnn_paper').config_path('faster_rcnn_zf_joint_voc.py')]
classes = ('circle', 'square', 'triangle', 'bar', 'pillar')
model = dict(init_cfg=None, roi_head=dict(bbox_head=dict(num_classes=len(classes), fc_out_channels=256)))
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={data_root!r}, metainfo=dict(classes=classes)))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root={data_root!r}, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[1])]
default_hooks = dict(logger=dict(interval=1))
"""


def test_non_editable_install_holds_the_configs_and_a_child_trains(tmp_path):
    src, site = tmp_path / 'src', tmp_path / 'site'
    src.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if osp.isdir(osp.join(REPO, name)) else shutil.copy
        kwargs = dict(ignore=shutil.ignore_patterns('__pycache__', '*.so', 'build')) if copy is shutil.copytree else {}
        copy(osp.join(REPO, name), src / name, **kwargs)
    env = dict(os.environ, MAX_JOBS='2', PYTHONPATH='')
    build = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation',
                            '--disable-pip-version-check', '--target', str(site), str(src)],
                           env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    packaged = site / 'faster_rcnn_paper' / '.mim' / 'configs'
    assert {p.name for p in (src / 'configs').glob('*.py')} == {p.name for p in packaged.glob('*.py')}
    assert (packaged / '_base_' / 'models' / 'faster_rcnn_vgg16.py').is_file()

    team = tmp_path / 'team'  # a folder of its own, outside any checkout
    team.mkdir()
    data_root = make_tiny_voc(tmp_path / 'data', num_trainval=2, num_test=1)
    (team / 'zf_joint_toy.py').write_text(CHILD.format(data_root=data_root))
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    where = subprocess.run([sys.executable, '-c', 'import faster_rcnn_paper as p; print(p.__file__); '
                            "print(p.config_path('faster_rcnn_zf_joint_voc.py'))"],
                           cwd=team, env=env, capture_output=True, text=True, timeout=300)
    assert where.returncode == 0, where.stderr[-2000:]
    assert where.stdout.split() == [str(site / 'faster_rcnn_paper' / '__init__.py'),
                                    str(packaged / 'faster_rcnn_zf_joint_voc.py')]
    mmdet_train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    proc = subprocess.run([sys.executable, mmdet_train, 'zf_joint_toy.py', '--work-dir', 'work'], cwd=team, env=env,
                          capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Iter(train) [2/2]' in log and 'pascal_voc/mAP' in log
    assert 'training from scratch' in log  # model.init_cfg=None: the warning
    assert (team / 'work' / 'iter_2.pth').is_file()
