"""The CUDA kernels against the CPU kernels (which the other tests check against the references).

Skipped where there is no GPU or the ops were built without CUDA; on a GPU machine
`pytest tests/custom_ops/test_cuda_kernels.py` is the one-command check of the .cu sources."""
import pytest
import torch
from torch.library import opcheck

from faster_rcnn_ops import nms, roi_pool, roi_warp
from . import test_roi_pool, test_roi_warp


def _has_cuda_kernel(op: str) -> bool:
    return torch.cuda.is_available() and torch._C._dispatch_has_kernel_for_dispatch_key(f'faster_rcnn::{op}', 'CUDA')


needs_roi_pool = pytest.mark.skipif(not _has_cuda_kernel('roi_pool'), reason='no CUDA roi_pool kernel here')
needs_roi_warp = pytest.mark.skipif(not _has_cuda_kernel('roi_warp'), reason='no CUDA roi_warp kernel here')
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


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no GPU here')
def test_nms_on_cuda_tensors_keeps_the_same_boxes():
    g = torch.Generator().manual_seed(3)
    boxes = torch.rand(500, 4, generator=g) * 200
    boxes[:, 2:] += boxes[:, :2] + 1
    scores = torch.rand(500, generator=g)
    cpu = nms(boxes, scores, 0.7, 1, 100)
    gpu = nms(boxes.cuda(), scores.cuda(), 0.7, 1, 100)
    assert torch.equal(gpu.cpu(), cpu)
