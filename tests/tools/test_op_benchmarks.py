"""The pure-PyTorch baselines of the op benchmarks compute the same thing as the compiled ops."""
import os.path as osp
import sys

import torch

from faster_rcnn_ops import roi_pool, roi_warp
from tests.tiny import REPO

sys.path.insert(0, osp.join(REPO, 'tools'))
from benchmark_roi_pool import torch_roi_pool  # noqa: E402
from benchmark_roi_warp import torch_roi_warp  # noqa: E402
from op_benchmarking import paper_rois  # noqa: E402


def test_baselines_match_the_ops():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(1, 8, 38, 63, generator=g)
    rois = paper_rois(20, 'cpu', g)
    assert torch.equal(torch_roi_pool(features, rois, 1 / 16, 7), roi_pool(features, rois, 7, 1 / 16))
    torch.testing.assert_close(torch_roi_warp(features, rois, 1 / 16, 6, 2),
                               roi_warp(features, rois, 6, 1 / 16, 2), rtol=1e-4, atol=1e-4)  # float32 rounding
