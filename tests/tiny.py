"""Shared helpers for tests that train: a tiny generated VOC dataset and configs shrunk to it."""
import copy
import os
import os.path as osp

from mmengine.config import Config

from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES, make_toy_voc
from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_SCALE = (320, 224)  # (long, short) instead of (1000, 600): paper anchors (>= 128 px) still fit


def tool_env(**extra) -> dict:
    """Environment for running a tool as a subprocess: the repository first on PYTHONPATH (for
    ``tests.*``), then whatever PYTHONPATH the tests run with (e.g. a worktree's projects/)."""
    path = os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH', '')) if p)
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS='1', **extra)


def make_tiny_voc(root, num_trainval=4, num_test=3, seed=0):
    """A generated VOCdevkit tree; returns the data_root to give configs."""
    make_toy_voc(str(root), num_trainval=num_trainval, num_test=num_test, seed=seed,
                 min_size=96, max_size=128)
    return osp.join(str(root), 'VOCdevkit') + '/'


def _rescale(obj):
    """Every Resize in a (nested) config gets the tiny scale."""
    if isinstance(obj, dict):
        if obj.get('type') in ('Resize', 'PaperResize'):
            obj['scale'] = TINY_SCALE
        for value in obj.values():
            _rescale(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _rescale(value)


def _point_data(dataset, data_root):
    if 'datasets' in dataset:
        for d in dataset['datasets']:
            _point_data(d, data_root)
        return
    dataset['data_root'] = data_root
    dataset['metainfo'] = dict(classes=TOY_CLASSES)


def tiny_config(config, data_root, work_dir, stage_iters=2, joint_iters=4, fc_width=256):
    """Loads one of our configs and shrinks it for a CPU test run on ``make_tiny_voc`` data.

    ``fc_width`` narrows fc6/fc7 (4096 in the paper): a ZF checkpoint with its momentum buffers drops
    from ~450 MB to ~20 MB, which keeps the suite's disk use small (the kill-and-resume tests write
    several checkpoints each).
    """
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.work_dir = str(work_dir)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.num_workers = 0
        loader.persistent_workers = False
        _point_data(loader.dataset, data_root)
    _rescale(cfg._cfg_dict)
    cfg.model.init_cfg = None  # no ImageNet weights in tests: from scratch (the configs name converted files)
    cfg.model.roi_head.bbox_head.num_classes = len(TOY_CLASSES)
    cfg.model.roi_head.bbox_head.fc_out_channels = fc_width
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1000000
    cfg.log_processor.window_size = 1
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook')
    hook = alternating_hook_cfg(cfg)
    if hook is not None:
        for stage in hook.stages.values():
            stage.max_iters = stage_iters
        cfg.train_cfg.max_iters = stage_iters * len(hook.stages)
    else:
        cfg.train_cfg.max_iters = joint_iters
        cfg.train_cfg.val_interval = joint_iters
        cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[joint_iters // 2])]
    return copy.deepcopy(cfg)
