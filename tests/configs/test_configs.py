"""Every config loads and builds; the joint configs train and evaluate on tiny generated VOC data;
downstream configs can inherit ours, alone or mixed with mmdet's own bases."""
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from tests.tiny import REPO, make_tiny_voc, tiny_config, tool_env

CONFIGS = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '*.py')))


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_tiny_voc(tmp_path_factory.mktemp('voc'), num_trainval=3, num_test=2)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_loads_and_model_builds(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.custom_imports.imports == ['faster_rcnn_paper']
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    assert model.rpn_head.prior_generator.num_base_priors[0] in (9, 12)


@pytest.mark.parametrize('config', CONFIGS)
def test_sgd_is_fused_and_equals_the_per_tensor_update(config):
    """Every config's SGD runs PyTorch's fused update (the schedules say it is the same arithmetic):
    a few steps of the optimiser the config builds (bias lr x2 groups, momentum, weight decay) equal
    the per-tensor loop's up to float32 rounding."""
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(osp.join(REPO, config))
    init_default_scope('mmdet')
    assert cfg.optim_wrapper.optimizer.get('fused') is True
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Linear(5, 3))
    fused = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    reference = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Linear(5, 3))
    reference.load_state_dict(model.state_dict())
    groups = [dict(g, params=[dict(reference.named_parameters())[n] for n, p in model.named_parameters()
                              if any(p is q for q in g['params'])]) for g in fused.param_groups]
    plain = torch.optim.SGD([{k: v for k, v in g.items() if k not in ('fused', 'foreach')} for g in groups],
                            fused=False, foreach=False)
    assert len({g['lr'] for g in fused.param_groups}) == 2  # biases at 2x lr
    for _ in range(5):
        x = torch.randn(4, 6)
        for net, opt in ((model, fused), (reference, plain)):
            opt.zero_grad()
            net(x).square().sum().backward()
            opt.step()
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def _transform_types(obj):
    """Every transform type in a (nested) pipeline / dataset config, in order."""
    if isinstance(obj, dict):
        found = [obj['type']] if 'type' in obj and ('scale' in obj or 'prob' in obj) else []
        for value in obj.values():
            found += _transform_types(value)
        return found
    if isinstance(obj, (list, tuple)):
        return [t for value in obj for t in _transform_types(value)]
    return []


@pytest.mark.parametrize('config', CONFIGS)
def test_paper_configs_use_py_faster_rcnn_arithmetic(config):
    """Box transform, flip, resize and (for VOC) evaluation are py-faster-rcnn's in every config."""
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.rpn_head.bbox_coder.type == 'PaperDeltaXYWHBBoxCoder'
    assert cfg.model.roi_head.bbox_head.bbox_coder.type == 'PaperDeltaXYWHBBoxCoder'
    pipelines = [cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader,
                 cfg.get('proposal_train_pipeline'), cfg.get('proposal_test_pipeline')]
    types = _transform_types(pipelines)
    assert 'PaperResize' in types and 'PaperRandomFlip' in types
    assert not {'Resize', 'RandomFlip'} & set(types), types
    train_types = _transform_types(cfg.train_dataloader)
    assert train_types.index('PaperRandomFlip') < train_types.index('PaperResize')  # flip at the original scale
    if 'VOC' in str(cfg.val_dataloader.dataset.type):
        assert cfg.val_evaluator.type == cfg.test_evaluator.type == 'PaperVOCMetric'


def test_headline_configs_are_four_step():
    for name in ('faster_rcnn_vgg16_voc.py', 'faster_rcnn_zf_voc.py'):
        cfg = Config.fromfile(osp.join(REPO, 'configs', name))
        assert cfg.train_cfg.type == 'IterBasedTrainLoop'
        assert cfg.train_cfg.max_iters == 240000 < cfg.train_cfg.val_interval
        stages = alternating_hook_cfg(cfg).stages
        assert list(stages) == ['step1_rpn', 'step2_fast_rcnn', 'step3_rpn', 'step4_fast_rcnn']
        assert [s.max_iters for s in stages.values()] == [80000, 40000, 80000, 40000]
        assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=1)


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_starts_from_imagenet_weights(config):
    """Paper configs name the converted ImageNet model of their backbone; the toy (demo) ones keep
    their stand-in."""
    cfg = Config.fromfile(osp.join(REPO, config))
    init = cfg.model.init_cfg
    assert init.type == 'Pretrained'
    if 'toyvoc' in config:
        assert init.checkpoint == 'data/toy/stand_in_imagenet_zf.pth'
    else:
        expected = {'VGG16': 'vgg16', 'ZFNet': 'zf'}[cfg.model.backbone.type]
        assert init.checkpoint == f'checkpoints/{expected}_caffe_layout.pth'


def test_coco_four_step_config_has_the_papers_coco_schedule():
    """§4.2: each RPN / Fast R-CNN step 240k iterations at lr 0.003, then 80k at 0.0003; mini-batches
    of 8 (RPN) and 16 (Fast R-CNN) images over 8 GPUs."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'faster_rcnn_vgg16_alternating_coco.py'))
    stages = alternating_hook_cfg(cfg).stages
    assert list(stages) == ['step1_rpn', 'step2_fast_rcnn', 'step3_rpn', 'step4_fast_rcnn']
    for name, stage in stages.items():
        assert stage.max_iters == 320000 and stage.optim_wrapper.optimizer.lr == 0.003, name
        assert [s.milestones for s in stage.param_scheduler] == [[240000]], name
        assert stage.base_batch_size == (8 if stage.mode == 'rpn' else 16), name
    assert cfg.train_dataloader.dataset.type == 'PaperCocoDataset' and cfg.val_evaluator.type == 'CocoMetric'
    assert cfg.model.roi_head.bbox_head.num_classes == 80


def test_demo_nonapprox_config_trains_as_the_voc_one():
    """The toy config of non-approximate joint training changes data scale and schedule, not how
    the mode trains."""
    toy = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_nonapprox_joint_toyvoc.py')).model
    voc = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_nonapprox_joint_voc.py')).model
    assert toy.train_mode == voc.train_mode == 'non_approximate_joint'
    for key in ('type', 'box_grad_from', 'box_grad_scale', 'bbox_roi_extractor'):
        assert toy.roi_head[key] == voc.roi_head[key], key


@pytest.mark.parametrize('config,frozen', [('configs/faster_rcnn_zf_joint_voc.py', ()),
                                           ('configs/faster_rcnn_vgg16_joint_voc.py',
                                            ('conv1_1', 'conv1_2', 'conv2_1', 'conv2_2'))])
def test_one_training_iteration_and_inference(config, frozen, data_root, tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config(config, data_root, tmp_path)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    data = model.data_preprocessor(next(iter(loader)), True)
    losses = model(**data, mode='loss')
    parsed, _ = model.parse_losses(losses)
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert key in losses
        value = sum(losses[key]) if isinstance(losses[key], list) else losses[key]
        assert torch.isfinite(value), key
    parsed.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    for name in ('rpn_head.rpn_conv.weight', 'rpn_head.rpn_cls.weight', 'roi_head.bbox_head.fc6.weight',
                 'roi_head.bbox_head.fc_cls.weight', 'backbone.conv5.weight' if not frozen else
                 'backbone.conv5_3.weight'):
        assert grads[name] is not None and grads[name].abs().sum() > 0, name
    for layer in frozen:
        assert grads[f'backbone.{layer}.weight'] is None
    model.eval()
    test_loader = Runner.build_dataloader(cfg.test_dataloader, seed=0)
    batch = next(iter(test_loader))
    with torch.no_grad():
        (result, ) = model.test_step(batch)
    assert isinstance(result, DetDataSample)
    h, w = result.ori_shape
    boxes = result.pred_instances.bboxes
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()


def test_train_py_trains_and_evaluates_joint_config(data_root, tmp_path):
    cfg = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp_path, joint_iters=4)
    config = str(tmp_path / 'tiny_zf_joint.py')
    cfg.dump(config)
    proc = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(tmp_path),
                           '--cfg-options', 'train_cfg.max_iters=4', 'optim_wrapper.optimizer.lr=0.0005'],
                          cwd=REPO, env=tool_env(), capture_output=True,
                          text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Iter(train) [4/4]' in log and 'pascal_voc/mAP' in log
    assert 'lr: 5.0000e-04' in log
    assert 'model.init_cfg is None: training from scratch' in log  # tiny_config: no ImageNet weights
    assert osp.isfile(tmp_path / 'iter_4.pth')


def test_downstream_inheritance(tmp_path):
    """A team's config: `_base_ = [our config]`, and mixing our bases with `mmdet::` ones."""
    ours = osp.join(REPO, 'configs', 'faster_rcnn_vgg16_voc.py')
    (tmp_path / 'team.py').write_text(
        f"_base_ = ['{ours}']\n"
        "model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))\n"
        "custom_hooks = _base_.custom_hooks\n"
        "custom_hooks[0].stages.step1_rpn.max_iters = 100\n"
        "train_dataloader = dict(dataset=dict(metainfo=dict(classes=('cat', 'dog', 'cow'))))\n")
    cfg = Config.fromfile(str(tmp_path / 'team.py'))
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    stages = alternating_hook_cfg(cfg).stages
    assert stages.step1_rpn.max_iters == 100 and stages.step2_fast_rcnn.max_iters == 40000
    assert list(stages) == ['step1_rpn', 'step2_fast_rcnn', 'step3_rpn', 'step4_fast_rcnn']
    assert cfg.model.rpn_head.anchor_generator.type == 'PaperAnchorGenerator'
    base = osp.join(REPO, 'configs', '_base_')
    (tmp_path / 'mixed.py').write_text(
        "_base_ = [\n"
        f"    '{base}/models/faster_rcnn_zf.py',\n"
        "    'mmdet::_base_/datasets/coco_detection.py',\n"
        "    'mmdet::_base_/schedules/schedule_1x.py',\n"
        f"    '{base}/default_runtime.py',\n"
        "]\n"
        "model = dict(roi_head=dict(bbox_head=dict(num_classes=80)))\n")
    cfg = Config.fromfile(str(tmp_path / 'mixed.py'))
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'  # from mmdet's schedule
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'ZFNet'


def test_joint_training_two_processes_gloo(data_root, tmp_path):
    """--launcher pytorch on 2 CPU processes (gloo) writes the same kind of checkpoint as one."""
    cfg = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp_path, joint_iters=2)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    config = str(tmp_path / 'tiny_zf_joint.py')
    cfg.dump(config)
    env = tool_env()
    single = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(tmp_path / 'one')],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]
    dist = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                           '--master_port=29533', 'tools/train.py', config, '--work-dir', str(tmp_path / 'two'),
                           '--launcher', 'pytorch'], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert dist.returncode == 0, dist.stderr[-3000:]
    one = torch.load(tmp_path / 'one' / 'iter_2.pth', weights_only=True)
    two = torch.load(tmp_path / 'two' / 'iter_2.pth', weights_only=True)
    assert one['state_dict'].keys() == two['state_dict'].keys()
    assert one.keys() == two.keys() and two['meta']['iter'] == 2
