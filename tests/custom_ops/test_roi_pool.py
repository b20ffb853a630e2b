"""Tests of faster_rcnn_ops.roi_pool: Caffe semantics, autograd, registration and bad input."""

import pytest
import torch
from torch.library import opcheck

from faster_rcnn_ops import RoIPool, roi_pool
from .roi_pool_reference import reference_roi_pool, reference_roi_pool_backward
from .cpu_capability import forward_and_backward_at

OP = torch.ops.faster_rcnn.roi_pool
OP_BACKWARD = torch.ops.faster_rcnn.roi_pool_backward


def random_rois(num, batch, height, width, scale, generator, dtype):
    """RoIs inside, partly outside and fully outside an image of the map's size / scale, plus
    single-pixel and malformed (x2 < x1) boxes."""
    img_h, img_w = height / scale, width / scale
    x1 = torch.rand(num, generator=generator, dtype=torch.float64) * img_w * 1.6 - 0.3 * img_w
    y1 = torch.rand(num, generator=generator, dtype=torch.float64) * img_h * 1.6 - 0.3 * img_h
    w = torch.rand(num, generator=generator, dtype=torch.float64) * img_w
    h = torch.rand(num, generator=generator, dtype=torch.float64) * img_h
    b = torch.randint(0, batch, (num,), generator=generator).double()
    rois = torch.stack([b, x1, y1, x1 + w, y1 + h], dim=1)
    rois[0, 3:] = rois[0, 1:3]  # single pixel
    rois[1, 3:] = rois[1, 1:3] - 20  # x2 < x1, y2 < y1
    rois[2, 1:] = torch.tensor([-3 * img_w, -3 * img_h, -2 * img_w, -2 * img_h])  # fully outside
    rois[3, 1:] = torch.tensor([0.0, 0.0, img_w - 1, img_h - 1])  # whole image
    return rois.to(dtype)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('scale,pooled', [(1 / 16, (7, 7)), (0.5, (3, 5)), (1.0, (6, 6))])
def test_matches_reference(dtype, scale, pooled):
    g = torch.Generator().manual_seed(0)
    features = torch.randn(2, 19, 9, 13, generator=g, dtype=torch.float64).to(dtype)
    rois = random_rois(40, 2, 9, 13, scale, g, dtype)
    out, arg = OP(features, rois, scale, *pooled)
    ref_out, ref_arg = reference_roi_pool(features, rois, scale, *pooled)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=0)
    assert torch.equal(arg, ref_arg)
    assert (arg == -1).any() and (arg >= 0).any()  # empty bins and pooled bins both covered
    grad = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
    grad_in = OP_BACKWARD(grad, arg, rois, 2, 19, 9, 13)
    torch.testing.assert_close(grad_in, reference_roi_pool_backward(grad, arg, rois, features.shape))


def test_hand_computed_values():
    """Golden values worked out by hand on a 4x4 map holding 1..16 (row-major)."""
    f = (torch.arange(16, dtype=torch.float32) + 1).view(1, 1, 4, 4)
    # Whole map, 2x2 bins of 2x2 cells.
    out = roi_pool(f, torch.tensor([[0.0, 0, 0, 3, 3]]), 2, 1.0)
    assert out.flatten().tolist() == [6, 8, 14, 16]
    # start = round(0.5) = 1 (half away from zero), end = round(2.49) = 2: rows/cols 1..2.
    out = roi_pool(f, torch.tensor([[0.0, 0.5, 0.5, 2.49, 2.49]]), 2, 1.0)
    assert out.flatten().tolist() == [6, 7, 10, 11]
    # start = round(-0.5) = -1: the first bin lies outside the map (empty -> 0), the second is cell 0.
    out, arg = OP(f, torch.tensor([[0.0, -0.5, -0.5, 0, 0]]), 1.0, 2, 2)
    assert out.flatten().tolist() == [0, 0, 0, 1]
    assert arg.flatten().tolist() == [-1, -1, -1, 0]
    # Caffe's float32 bins: roi_h = 57 over 7 bins gives ceil(7 * (57/7)f) = ceil(57.000004) = 58,
    # so the last bin reaches one row past the RoI (row 57); float64 stays inside (row 56).
    f = torch.arange(60, dtype=torch.float32).view(1, 1, 60, 1)
    rois = torch.tensor([[0.0, 0, 0, 0, 56]])
    assert roi_pool(f, rois, (7, 1), 1.0)[0, 0, -1, 0].item() == 57.0
    assert roi_pool(f.double(), rois.double(), (7, 1), 1.0)[0, 0, -1, 0].item() == 56.0


def test_ties_take_first_maximum_in_row_major_order():
    f = torch.zeros(1, 1, 3, 3)
    out, arg = OP(f, torch.tensor([[0.0, 0, 0, 2, 2]]), 1.0, 1, 1)
    assert out.item() == 0.0 and arg.item() == 0


def test_channels_last_and_non_contiguous_inputs_agree():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 33, 10, 11, generator=g)
    rois = random_rois(20, 2, 10, 11, 0.25, g, torch.float32)
    expected, _ = OP(f, rois, 0.25, 4, 4)
    cl, _ = OP(f.contiguous(memory_format=torch.channels_last), rois, 0.25, 4, 4)
    strided = torch.cat([rois, rois], dim=1)[:, ::2]
    strided[:] = rois
    nc, _ = OP(f.transpose(2, 3).contiguous().transpose(2, 3), strided, 0.25, 4, 4)
    assert torch.equal(cl, expected) and torch.equal(nc, expected)


def _forward_and_backward(f, rois):
    out, arg = OP(f, rois, 0.5, 7, 7)
    # exact values (linspace rounds differently under each vector width of torch's own kernels)
    grad = ((torch.arange(out.numel()) % 13 - 6) / 8).to(f.dtype).reshape(out.shape)
    return out, arg, OP_BACKWARD(grad, arg, rois, f.shape[0], f.shape[1], f.shape[2], f.shape[3])


def test_thread_count_does_not_change_result():
    g = torch.Generator().manual_seed(2)
    f = torch.randn(2, 40, 12, 12, generator=g)
    rois = random_rois(30, 2, 12, 12, 0.5, g, torch.float32)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _forward_and_backward(f, rois)
        torch.set_num_threads(2)
        two = _forward_and_backward(f, rois)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(one, two))


@pytest.mark.parametrize('capability', ['default', 'avx2'])
def test_vector_width_does_not_change_result(capability, tmp_path):
    """The 16-byte (SSE2 / NEON) and AVX2 forms of the forward kernel give the results of the
    widest this CPU runs (AVX-512 where it has it), bit for bit."""
    g = torch.Generator().manual_seed(4)
    cases = []
    for dtype in (torch.float32, torch.float64):
        f = torch.randn(2, 37, 12, 13, generator=g, dtype=torch.float64).to(dtype)  # 37: a partial block
        cases.append((f, random_rois(40, 2, 12, 13, 0.5, g, dtype)))
    theirs_all = forward_and_backward_at(capability, 'tests.custom_ops.test_roi_pool', cases, tmp_path)
    for (f, rois), theirs in zip(cases, theirs_all):
        assert all(torch.equal(a, b) for a, b in zip(_forward_and_backward(f, rois), theirs))


def _opcheck_samples():
    g = torch.Generator().manual_seed(3)
    samples = []
    for dtype in (torch.float32, torch.float64):
        f = torch.randn(2, 5, 8, 9, generator=g, dtype=dtype, requires_grad=True)
        rois = random_rois(6, 2, 8, 9, 0.5, g, dtype)
        samples.append((f, rois, 0.5, 3, 2))
    empty = torch.randn(1, 3, 4, 4, requires_grad=True)
    samples.append((empty, torch.zeros(0, 5), 1.0, 2, 2))
    return samples


@pytest.mark.parametrize('sample', _opcheck_samples())
def test_opcheck_forward(sample):
    opcheck(OP, sample)


def test_opcheck_backward():
    g = torch.Generator().manual_seed(4)
    f = torch.randn(2, 5, 8, 9, generator=g)
    rois = random_rois(6, 2, 8, 9, 0.5, g, torch.float32)
    out, arg = OP(f, rois, 0.5, 3, 3)
    opcheck(OP_BACKWARD, (torch.randn_like(out), arg, rois, 2, 5, 8, 9))


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(5)
    # Distinct values, spaced far beyond gradcheck's eps, so no perturbation changes an argmax.
    f = (torch.randperm(2 * 3 * 7 * 8, generator=g).double() * 0.01).view(2, 3, 7, 8)
    f.requires_grad_(True)
    rois = random_rois(8, 2, 7, 8, 0.5, g, torch.float64)
    assert torch.autograd.gradcheck(lambda x: roi_pool(x, rois, (3, 4), 0.5), (f,))


def test_no_gradient_to_rois_and_module_form():
    f = torch.randn(1, 2, 5, 5, requires_grad=True)
    rois = torch.tensor([[0.0, 0, 0, 4, 4]], requires_grad=True)
    pool = RoIPool((2, 2), spatial_scale=1.0)
    pool(f, rois).sum().backward()
    assert rois.grad is None
    assert f.grad.sum().item() == 2 * 4  # 2 channels x 4 bins, one argmax each
    assert repr(pool) == 'RoIPool(output_size=(2, 2), spatial_scale=1.0)'


def test_fake_tensors_give_shapes():
    f = torch.empty(2, 7, 20, 30, device='meta')
    out, arg = OP(f, torch.empty(11, 5, device='meta'), 1 / 16, 6, 6)
    assert out.shape == (11, 7, 6, 6) and out.device.type == 'meta' and arg.dtype == torch.int32


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_nan_inf_and_huge_coordinates(dtype):
    """Defined beyond Caffe: a NaN coordinate empties the RoI; inf / huge ones are clamped."""
    f = torch.randn(1, 4, 6, 6, dtype=dtype)
    nan, inf = float('nan'), float('inf')
    rois = torch.tensor([[0, nan, 0, 10, 10], [0, 0, 0, inf, inf], [0, -inf, -inf, 3, 3],
                         [0, -1e30, -1e30, 1e30, 1e30], [0, 1e38, 1e38, -1e38, -1e38]], dtype=dtype)
    out, arg = OP(f, rois, 1.0, 3, 3)
    assert torch.isfinite(out).all()
    assert (out[0] == 0).all() and (arg[0] == -1).all()
    ref_out, ref_arg = reference_roi_pool(f, rois, 1.0, 3, 3)
    assert torch.equal(out, ref_out) and torch.equal(arg, ref_arg)
    # The huge box centred on the map pools the whole map in its middle bin.
    assert out[3, :, 1, 1].tolist() == f[0].amax(dim=(1, 2)).tolist()


BAD_INPUTS = [
    ('3-D features', dict(features=torch.zeros(4, 5, 5)), RuntimeError, 'features must be 4-D'),
    ('rois not (K, 5)', dict(rois=torch.zeros(2, 4)), RuntimeError, r'rois must be of shape \(K, 5\)'),
    ('rois 1-D', dict(rois=torch.zeros(5)), RuntimeError, r'rois must be of shape \(K, 5\)'),
    ('dtype mismatch', dict(rois=torch.zeros(1, 5, dtype=torch.float64)), RuntimeError, 'same dtype'),
    ('integer dtype', dict(features=torch.zeros(1, 1, 4, 4, dtype=torch.int32),
                           rois=torch.zeros(1, 5, dtype=torch.int32)), RuntimeError, 'float32 and float64'),
    ('device mismatch', dict(rois=torch.zeros(1, 5, device='meta')), RuntimeError, 'same device'),
    ('batch index too large', dict(rois=torch.tensor([[1.0, 0, 0, 2, 2]])), ValueError, 'out of range'),
    ('negative batch index', dict(rois=torch.tensor([[-1.0, 0, 0, 2, 2]])), ValueError, 'out of range'),
    ('fractional batch index', dict(rois=torch.tensor([[0.5, 0, 0, 2, 2]])), ValueError, 'integral'),
    ('NaN batch index', dict(rois=torch.tensor([[float('nan'), 0, 0, 2, 2]])), ValueError, 'integral'),
    ('zero output size', dict(pooled=(0, 2)), ValueError, 'output size must be positive'),
    ('negative output size', dict(pooled=(2, -1)), ValueError, 'output size must be positive'),
    ('zero spatial scale', dict(scale=0.0), ValueError, 'spatial_scale'),
]


@pytest.mark.parametrize('name,override,error,message', BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_clear_error(name, override, error, message):
    args = dict(features=torch.zeros(1, 1, 4, 4), rois=torch.tensor([[0.0, 0, 0, 2, 2]]), scale=1.0,
                pooled=(2, 2))
    args.update(override)
    with pytest.raises(error, match=message):
        OP(args['features'], args['rois'], args['scale'], *args['pooled'])


def test_backward_rejects_bad_argmax_and_shapes():
    grad = torch.ones(1, 1, 2, 2)
    rois = torch.tensor([[0.0, 0, 0, 2, 2]])
    with pytest.raises(ValueError, match='outside the 4 x 4 feature map'):
        OP_BACKWARD(grad, torch.full((1, 1, 2, 2), 16, dtype=torch.int32), rois, 1, 1, 4, 4)
    with pytest.raises(RuntimeError, match='same shape'):
        OP_BACKWARD(grad, torch.zeros(1, 1, 2, 3, dtype=torch.int32), rois, 1, 1, 4, 4)
    with pytest.raises(ValueError, match='out of range'):
        OP_BACKWARD(grad, torch.zeros(1, 1, 2, 2, dtype=torch.int32), rois, 0, 1, 4, 4)


def test_python_wrappers_validate_output_size():
    with pytest.raises(ValueError, match='output_size'):
        RoIPool((7, 0), 1 / 16)
    with pytest.raises(ValueError, match='spatial_scale'):
        RoIPool(7, 0.0)
    with pytest.raises(ValueError, match='output_size'):
        roi_pool(torch.zeros(1, 1, 4, 4), torch.zeros(0, 5), (1, 2, 3))
