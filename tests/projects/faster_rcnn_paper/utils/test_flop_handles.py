"""MMEngine's FLOP counter (mmdet's get_flops.py) counts our compiled ops once the plugin is
imported: roi_pool, roi_warp and nms are no longer "unsupported" (counted as 0)."""
import os.path as osp
import subprocess
import sys
from functools import partial

import pytest
import torch
from mmengine.analysis import ActivationAnalyzer, FlopAnalyzer
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

import faster_rcnn_paper  # noqa: F401  (registers the FLOP handles)
import faster_rcnn_ops  # noqa: F401  (loads torch.ops.faster_rcnn)
from faster_rcnn_paper.models.layers import WithinChannelLRN
from faster_rcnn_paper.models.layers.within_channel_lrn import TRACED_OP_NAMES
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from tests.tiny import REPO, tool_env


class OurOps(nn.Module):

    def forward(self, feats, rois, boxes, scores):
        pooled, _ = torch.ops.faster_rcnn.roi_pool(feats, rois, 0.0625, 2, 3)
        warped, _ = torch.ops.faster_rcnn.roi_warp(feats, rois, 0.0625, 2, 3, 2)
        keep = torch.ops.faster_rcnn.nms(boxes, scores, 0.5, 1, 3)
        return pooled, warped, keep


def test_counts_of_each_op():
    feats = torch.randn(1, 4, 8, 8)
    rois = torch.tensor([[0, 0, 0, 60, 60], [0, 10, 10, 100, 90], [0, 0, 0, 20, 20]], dtype=torch.float32)
    boxes = torch.rand(10, 4) * 50
    boxes[:, 2:] += boxes[:, :2]
    scores = torch.rand(10)
    analyzer = FlopAnalyzer(OurOps(), (feats, rois, boxes, scores))
    counts = analyzer.by_operator()
    K, C, PH, PW = 3, 4, 2, 3
    assert counts['roi_pool'] == K * C * PH * PW  # one max per output element
    assert counts['roi_warp'] == 4 * 2 * 2 * K * C * PH * PW  # 4 per bilinear sample, 2x2 samples per bin
    assert counts['nms'] == 3 * 10  # at most 3 kept, each compared with the 10 boxes
    assert not any(op.startswith('faster_rcnn::') for op in analyzer.unsupported_ops())
    # get_model_complexity_info also counts activations (convolutions and matmuls only): no
    # "Unsupported operator faster_rcnn::..." warning from that counter either
    activations = ActivationAnalyzer(OurOps(), (feats, rois, boxes, scores))
    assert activations.total() == 0
    assert not any(op.startswith('faster_rcnn::') for op in activations.unsupported_ops())


def test_detector_count_includes_roi_pooling_and_nms():
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_joint_voc.py'))
    cfg.model.roi_head.bbox_head.fc_out_channels = 16
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    h, w = 160, 224
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
                                         pad_shape=(h, w), batch_input_shape=(h, w)))
    data = model.data_preprocessor(dict(inputs=[torch.zeros(3, h, w, dtype=torch.uint8)], data_samples=[sample]))
    model.forward = partial(model.forward, data_samples=data['data_samples'])  # as mmdet's get_flops.py
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, data['inputs'])
        counts = analyzer.by_operator()
    # 300 test proposals at most, 256 channels, 6 x 6 bins (ZF)
    assert 0 < counts['roi_pool'] <= 300 * 256 * 6 * 6 and counts['roi_pool'] % (256 * 6 * 6) == 0
    assert counts['nms'] > 0
    unsupported = analyzer.unsupported_ops()
    assert not any(op.startswith('faster_rcnn::') or 'lrn' in op.lower() for op in unsupported), unsupported


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16], ids=['compiled op', 'PyTorch formula'])
def test_within_channel_lrn_counts_zero_in_either_form(dtype):
    """ZF's LRN is traced as the compiled op on CPU and as a Python op in its PyTorch form (other
    devices and dtypes): both counters know both names and count them 0 (element-wise work)."""
    x = torch.rand(1, 4, 6, 6, dtype=dtype)
    graph, _ = torch.jit._get_trace_graph(WithinChannelLRN(), (x, ))
    # named as MMEngine's JitModelAnalysis names a node
    traced = [n.kind() + (f'.{n.pyname()}' if n.kind() == 'prim::PythonOp' else '') for n in graph.nodes()]
    assert [kind for kind in traced if kind != 'prim::Constant'] == [TRACED_OP_NAMES[dtype != torch.float32]]
    for analyzer in (FlopAnalyzer(WithinChannelLRN(), x), ActivationAnalyzer(WithinChannelLRN(), x)):
        assert analyzer.total() == 0 and not analyzer.unsupported_ops()


def test_count_flops_tool_needs_no_dataset(tmp_path):
    """A headline config without VOC present: tools/analysis_tools/count_flops.py counts on a generated image."""
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/count_flops.py', 'configs/faster_rcnn_zf_voc.py', '--shape', '96', '128'],
                          cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'input shape: 96x128' in proc.stdout and 'flops: ' in proc.stdout
    # one line on what is not counted instead of MMEngine's warning per op
    assert 'Unsupported operator' not in proc.stdout + proc.stderr and 'not counted' in proc.stdout
