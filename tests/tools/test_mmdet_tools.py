"""MMDetection's own tools (shipped in the mmdet wheel under mmdet/.mim/tools) on our configs and
logs: analyze_logs.py plot_curve on a 4-step log, get_flops.py without VOC present."""
import json
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import mmdet
import pytest
from mmdet.registry import VISBACKENDS
from mmengine.config import Config
from mmengine.logging import MessageHub

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.engine.run_record import STAGE_KEY
from faster_rcnn_paper.engine.runner.stage_log_processor import StageLogProcessor
from tests.tiny import REPO, tool_env

MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')
KEYS = ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc')
DEFAULT_RUNTIME = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))


def write_stage_log(save_dir):
    """The JSON log as LoggerHook writes it (the processor's tag + step, through the config's vis
    backend) for 3 iterations of an RPN step and 3 of a Fast R-CNN step, each computing only its own
    losses; returns its path."""
    processor = StageLogProcessor(window_size=1, by_epoch=False, keys_in_every_line=KEYS)
    hub = MessageHub.get_instance('test_stage_log')
    runner = SimpleNamespace(message_hub=hub, max_iters=6, _train_loop=object(), iter=0)
    backend = VISBACKENDS.build(dict(DEFAULT_RUNTIME['vis_backends'][0], save_dir=save_dir))
    for it in range(6):
        runner.iter = it
        stage, losses = (('step1_rpn', dict(loss_rpn_cls=0.7, loss_rpn_bbox=0.1)) if it < 3 else
                         ('step2_fast_rcnn', dict(loss_cls=1.2, loss_bbox=0.3, acc=80.0)))
        hub.update_info(STAGE_KEY, stage)
        hub.update_scalar('train/lr', 0.001)
        for key, value in losses.items():
            hub.update_scalar(f'train/{key}', value / (it + 1))
        hub.update_scalar('train/loss', sum(v for k, v in losses.items() if k.startswith('loss')) / (it + 1))
        tag, log_str = processor.get_log_after_iter(runner, it, 'train')
        assert f'[{stage}]' in log_str
        backend.add_scalars(tag, step=it + 1)
    return osp.join(save_dir, 'scalars.json')


def strict_json(text):
    """json.loads that refuses NaN / Infinity, as JavaScript's JSON.parse and other strict parsers."""
    def refuse(constant):
        raise ValueError(f'not JSON: {constant}')
    return json.loads(text, parse_constant=refuse)


def test_every_log_line_has_every_loss_key_and_analyze_logs_plots_them(tmp_path):
    log = write_stage_log(str(tmp_path / 'vis_data'))
    records = [strict_json(line) for line in open(log)]
    assert len(records) == 6 and all(set(KEYS) <= set(r) for r in records)
    assert records[0]['loss_cls'] is None  # null: not computed in step 1
    assert records[0]['loss_rpn_cls'] == pytest.approx(0.7)
    pytest.importorskip('seaborn')  # mmdet's analyze_logs imports it (requirements/lock.txt)
    out = str(tmp_path / 'curve.png')
    proc = subprocess.run([sys.executable, osp.join(MMDET_TOOLS, 'analysis_tools', 'analyze_logs.py'), 'plot_curve',
                           log, '--keys', 'loss_cls', 'loss_rpn_cls', 'loss', '--backend', 'Agg', '--out', out],
                          cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.getsize(out) > 1000


def test_mmdet_get_flops_without_voc_says_where_voc_goes():
    """mmdet's get_flops.py measures on val images, so it needs the data: the error says where to
    put VOC (tools/analysis_tools/get_flops.py counts without data)."""
    if osp.isdir(osp.join(REPO, 'data', 'VOCdevkit')):
        pytest.skip('VOC is present here')
    proc = subprocess.run([sys.executable, osp.join(MMDET_TOOLS, 'analysis_tools', 'get_flops.py'),
                           'configs/faster_rcnn_vgg16_voc.py'],
                          cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'data/VOCdevkit/VOC2007/ImageSets/Main/test.txt' in proc.stderr
    assert 'README.md, section "Train on real PASCAL VOC"' in proc.stderr
