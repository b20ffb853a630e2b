"""The CUDA kernels against the CPU kernels (which the other tests check against the references).

Skipped where there is no GPU or the ops were built without CUDA; on a GPU machine
`pytest tests/custom_ops/test_cuda_kernels.py` is the one-command check of the .cu sources."""
import pytest
import torch
from torch.library import opcheck

from faster_rcnn_ops import nms, roi_pool, roi_warp
from . import test_nms, test_roi_pool, test_roi_warp


def _has_cuda_kernel(op: str) -> bool:
    return torch.cuda.is_available() and torch._C._dispatch_has_kernel_for_dispatch_key(f'faster_rcnn::{op}', 'CUDA')


needs_roi_pool = pytest.mark.skipif(not _has_cuda_kernel('roi_pool'), reason='no CUDA roi_pool kernel here')
needs_roi_warp = pytest.mark.skipif(not _has_cuda_kernel('roi_warp'), reason='no CUDA roi_warp kernel here')
needs_nms = pytest.mark.skipif(not _has_cuda_kernel('nms'), reason='no CUDA nms kernel here')
DTYPES = [torch.float32, torch.float64]


def _inputs(random_rois, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(2, 19, 13, 17, generator=g, dtype=dtype)
    rois = random_rois(40, 2, 13, 17, 0.25, g, dtype)
    return features, rois


@needs_roi_pool
@pytest.mark.parametrize('dtype', DTYPES)
def test_roi_pool_cuda_equals_cpu(dtype):
    features, rois = _inputs(test_roi_pool.random_rois, dtype, 0)
    out_cpu, arg_cpu = torch.ops.faster_rcnn.roi_pool(features, rois, 0.25, 3, 4)
    out_gpu, arg_gpu = torch.ops.faster_rcnn.roi_pool(features.cuda(), rois.cuda(), 0.25, 3, 4)
    assert torch.equal(out_gpu.cpu(), out_cpu) and torch.equal(arg_gpu.cpu(), arg_cpu)  # max is exact
    grad = torch.randn_like(out_cpu)
    cpu = torch.ops.faster_rcnn.roi_pool_backward(grad, arg_cpu, rois, 2, 19, 13, 17)
    gpu = torch.ops.faster_rcnn.roi_pool_backward(grad.cuda(), arg_gpu, rois.cuda(), 2, 19, 13, 17)
    torch.testing.assert_close(gpu.cpu(), cpu)  # atomics sum in another order
    opcheck(torch.ops.faster_rcnn.roi_pool.default,
            (features.cuda().requires_grad_(), rois.cuda(), 0.25, 3, 4))


@needs_roi_pool
def test_roi_pool_cuda_through_autograd_and_bad_input():
    features, rois = _inputs(test_roi_pool.random_rois, torch.float64, 1)
    leaf = features.cuda().requires_grad_()
    roi_pool(leaf, rois.cuda(), 3, 0.25).sum().backward()
    cpu_leaf = features.detach().clone().requires_grad_()
    roi_pool(cpu_leaf, rois, 3, 0.25).sum().backward()
    torch.testing.assert_close(leaf.grad.cpu(), cpu_leaf.grad)
    bad = rois.cuda().clone()
    bad[0, 0] = 5
    with pytest.raises(ValueError, match='out of range'):
        roi_pool(features.cuda(), bad, 3, 0.25)


@needs_roi_warp
@pytest.mark.parametrize('dtype', DTYPES)
def test_roi_warp_cuda_matches_cpu(dtype):
    features, rois = _inputs(test_roi_warp.random_rois, dtype, 2)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    grads = []
    for device in ('cpu', 'cuda'):
        f = features.to(device).requires_grad_()
        r = rois.to(device).requires_grad_()
        out = roi_warp(f, r, (3, 4), 0.25, 2)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=dtype, device=device).view_as(out))
        grads.append((out.detach().cpu(), f.grad.cpu(), r.grad.cpu()))
    for cpu, gpu in zip(*grads):
        torch.testing.assert_close(gpu, cpu, **tol)
    opcheck(torch.ops.faster_rcnn.roi_warp.default,
            (features.cuda().requires_grad_(), rois.cuda().requires_grad_(), 0.25, 3, 4, 2))


@needs_nms
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('offset', [0, 1])
def test_nms_cuda_keeps_the_boxes_the_cpu_kernel_keeps(dtype, offset):
    # 700 boxes: mask words across several blocks, the last one partly filled
    boxes, scores = test_nms.random_boxes(700, seed=3 + offset, dtype=dtype)
    scores[1::2] = scores[0::2]  # ties: kept in input order by both kernels
    for thr in (0.0, 0.3, 0.7):
        for max_output in (-1, 1, 50, 10000):
            cpu = nms(boxes, scores, thr, offset, max_output)
            gpu = nms(boxes.cuda(), scores.cuda(), thr, offset, max_output)
            assert gpu.device.type == 'cuda' and gpu.dtype == torch.int64
            assert torch.equal(gpu.cpu(), cpu), (thr, max_output)


@needs_nms
def test_nms_cuda_edge_cases_and_bad_input():
    same = torch.tensor([[0.0, 0, 9, 9], [0, 0, 9, 9], [0, 0, 9, 19]], device='cuda')
    # equal scores keep input order; IoU 0.5 is not > 0.5, so the third box survives
    assert nms(same, torch.tensor([0.5, 0.5, 0.4], device='cuda'), 0.5, 1).tolist() == [0, 2]
    assert nms(torch.zeros(0, 4, device='cuda'), torch.zeros(0, device='cuda'), 0.5).shape == (0, )
    boxes, scores = test_nms.random_boxes(40, seed=9)
    opcheck(torch.ops.faster_rcnn.nms.default, (boxes.cuda(), scores.cuda(), 0.6, 1, 10),
            test_utils=('test_schema', 'test_autograd_registration'))
    with pytest.raises(RuntimeError, match='scores must be'):
        torch.ops.faster_rcnn.nms(boxes.cuda(), scores[:-1].cuda(), 0.5, 0, -1)
    with pytest.raises(ValueError, match='offset must be 0 or 1'):
        torch.ops.faster_rcnn.nms(boxes.cuda(), scores.cuda(), 0.5, 2, -1)
