"""The pure-PyTorch baselines of the op benchmarks compute the same thing as the compiled ops."""
import torch

from faster_rcnn_ops import roi_pool, roi_warp
from faster_rcnn_ops import benchmarking as op_benchmarking
from tests.tools import load_tool

benchmark_nms = load_tool('analysis_tools/benchmark_nms')
benchmark_roi_pool = load_tool('analysis_tools/benchmark_roi_pool')
benchmark_roi_warp = load_tool('analysis_tools/benchmark_roi_warp')
benchmark_zf_trunk = load_tool('analysis_tools/benchmark_zf_trunk')


def test_baselines_match_the_ops():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(1, 8, 38, 63, generator=g)
    rois = op_benchmarking.paper_rois(20, 'cpu', g)
    assert torch.equal(benchmark_roi_pool.torch_roi_pool(features, rois, 1 / 16, 7),
                       roi_pool(features, rois, 7, 1 / 16))
    torch.testing.assert_close(benchmark_roi_warp.torch_roi_warp(features, rois, 1 / 16, 6, 2),
                               roi_warp(features, rois, 6, 1 / 16, 2), rtol=1e-4, atol=1e-4)  # float32 rounding


def test_benchmarks_print_a_ratio_line_per_workload_and_pass(monkeypatch, capsys):
    monkeypatch.setattr(op_benchmarking, 'WORKLOADS', [('tiny', 4, 3)])
    monkeypatch.setattr(op_benchmarking, 'NUM_ROIS', (5, ))
    for tool in (benchmark_roi_pool, benchmark_roi_warp):
        tool.main(['--repeats', '1', '--threads', str(torch.get_num_threads())])
        lines = [line for line in capsys.readouterr().out.splitlines() if '| ratio' in line]
        assert len(lines) == 2 and 'forward+backward' in lines[1], lines
        assert all(line.startswith('tiny    4x38x63 -> 3x3,   5 RoIs') for line in lines), lines


def test_zf_trunk_benchmark_compares_with_the_former_trunk(monkeypatch, capsys):
    monkeypatch.setattr(benchmark_zf_trunk, 'INPUTS', [('1 x 64x96', 1, 64, 96)])
    benchmark_zf_trunk.main(['--repeats', '1'])
    lines = [line for line in capsys.readouterr().out.splitlines() if '| ratio' in line]
    assert [line.split(':')[0].split()[-1] for line in lines] == ['forward', 'forward+backward'] * 3, lines
    assert all(line.startswith('LRN (96, 32, 48) x1') for line in lines[:4]), lines
    assert '| autograd' in lines[0] and '| formula' in lines[2] and lines[4].startswith('ZF trunk 1 x 64x96'), lines
    # the baseline is the former layer: default layout, autograd LRN
    base = benchmark_zf_trunk.baseline_trunk(benchmark_zf_trunk.ZFNet())
    assert not base.channels_last and isinstance(base.norm1, benchmark_zf_trunk.AutogradLRN)


def test_zf_trunk_benchmark_formula_baseline_is_the_pytorch_path():
    """The compiled op's baseline is the layer's pure-PyTorch path (a Python autograd Function)."""
    x = torch.relu(torch.randn(1, 4, 6, 7, requires_grad=True))
    formula = benchmark_zf_trunk.FormulaLRN()
    assert type(formula(x).grad_fn).__name__ == '_WithinChannelLRNFunctionBackward'
    torch.testing.assert_close(formula(x), benchmark_zf_trunk.WithinChannelLRN()(x))


def test_nms_benchmark_boxes_are_an_rpn_output_and_it_prints_a_ratio_per_workload(monkeypatch, capsys):
    boxes, scores = benchmark_nms.rpn_boxes(600, 1000, torch.Generator().manual_seed(0))
    assert boxes.shape == (38 * 63 * 9, 4) and scores.shape == (38 * 63 * 9, )  # the paper's 38 x 63 conv5 map
    assert (boxes[:, 2:] >= boxes[:, :2]).all() and boxes[:, 2].max() <= 999 and boxes[:, 3].max() <= 599
    monkeypatch.setattr(benchmark_nms, 'WORKLOADS', [((64, 96), None, 20), ((64, 96), 30, 5)])
    benchmark_nms.main(['--repeats', '1'])
    lines = [line for line in capsys.readouterr().out.splitlines() if '| ratio' in line]
    assert [line.split(':')[0] for line in lines] == ['64x96 image,   216 boxes ->   20',
                                                      '64x96 image,    30 boxes ->    5'], lines
