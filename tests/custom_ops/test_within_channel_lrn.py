"""Tests of faster_rcnn_ops.within_channel_lrn: Caffe's within-channel LRN, its closed-form
gradient, both memory layouts, registration and bad input."""

import pytest
import torch
from torch.library import opcheck

from faster_rcnn_ops import within_channel_lrn
from .within_channel_lrn_reference import reference_formula, reference_within_channel_lrn
from .cpu_capability import forward_and_backward_at

OP = torch.ops.faster_rcnn.within_channel_lrn
OP_BACKWARD = torch.ops.faster_rcnn.within_channel_lrn_backward
ZF = (5e-5, 0.75)  # ZF's alpha and beta


def conv_like(shape, generator, dtype=torch.float32, scale=60.0):
    """Non-negative values of a ReLU output, a third of them zero, large enough that alpha * mean
    moves s away from 1."""
    return torch.relu(torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype)


def channels_last(x):
    return x.contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize('size, alpha, beta', [(1, 5e-5, 0.75), (3, 5e-5, 0.75), (5, 5e-5, 0.75), (3, 1e-3, 0.6),
                                               (5, 2e-3, 0.75), (7, 1e-4, 0.5)])
def test_matches_reference(layout, size, alpha, beta):
    """Golden values of a NumPy loop in float64: float64 to 1e-12, float32 to float32 rounding,
    for ZF's settings and others (sizes beyond the map, the general-beta path)."""
    g = torch.Generator().manual_seed(size)
    x = conv_like((2, 5, 6, 9), g, torch.float64, scale=150.0).contiguous(memory_format=layout)
    expected = reference_within_channel_lrn(x, size, alpha, beta)
    torch.testing.assert_close(OP(x, size, alpha, beta), expected, rtol=1e-12, atol=0)
    out = OP(x.float(), size, alpha, beta)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), expected, rtol=2e-6, atol=1e-6 * expected.abs().max().item())


def test_hand_computed_values():
    """Golden values worked out by hand. One cell: s = 1 + 0.09 * 10² / 9 = 2, y = 10 / 2^0.5.
    A 1 x 3 row [3, 0, 4], size 3, alpha 0.9: the windows hold 9, 25 and 16, s = 1.9, 3.5, 2.6."""
    one = torch.full((1, 1, 1, 1), 10.0, dtype=torch.float64)
    assert OP(one, 3, 0.09, 0.5).item() == pytest.approx(10 / 2**0.5, rel=1e-14)
    row = torch.tensor([[[[3.0, 0.0, 4.0]]]], dtype=torch.float64)
    y = OP(row, 3, 0.9, 0.75).flatten().tolist()
    assert y == pytest.approx([3 / 1.9**0.75, 0.0, 4 / 2.6**0.75], rel=1e-14)
    # channels do not mix (unlike torch.nn.LocalResponseNorm)
    two = torch.cat([row, row * 100], dim=1)
    assert torch.equal(OP(two, 3, 0.9, 0.75)[:, :1], OP(row, 3, 0.9, 0.75))


@pytest.mark.parametrize('size, alpha, beta', [(1, *ZF), (3, *ZF), (5, 1e-3, 0.6)])
def test_gradcheck_float64(size, alpha, beta):
    g = torch.Generator().manual_seed(1)
    x = conv_like((2, 3, 5, 4), g, torch.float64, scale=40.0) + 1.0  # away from ReLU's kink at 0
    for layout in (torch.contiguous_format, torch.channels_last):
        leaf = x.contiguous(memory_format=layout).requires_grad_()
        assert torch.autograd.gradcheck(lambda t: within_channel_lrn(t, size, alpha, beta), (leaf, ))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('size', [1, 3, 5])
def test_backward_matches_autograd_through_the_reference(dtype, size):
    """The closed-form gradient equals autograd through the formula written out in torch ops."""
    g = torch.Generator().manual_seed(2)
    x = conv_like((2, 4, 7, 6), g, torch.float64, scale=150.0)
    weight = torch.randn(x.shape, generator=g, dtype=torch.float64)
    leaf = x.clone().requires_grad_()
    (expected, ) = torch.autograd.grad((reference_formula(leaf, size, 1e-3, 0.75) * weight).sum(), leaf)
    for layout in (torch.contiguous_format, torch.channels_last):
        mine = x.to(dtype).contiguous(memory_format=layout).requires_grad_()
        (grad, ) = torch.autograd.grad((within_channel_lrn(mine, size, 1e-3, 0.75) * weight.to(dtype)).sum(), mine)
        tol = dict(rtol=1e-11, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad.double(), expected, **tol)


def test_layouts_agree_and_are_kept():
    """Channels-last, contiguous and strided inputs give the same bits (the same sums in the same
    order); channels-last input gives channels-last output and gradient (ZF's trunk layout), other
    input contiguous."""
    g = torch.Generator().manual_seed(3)
    x = conv_like((2, 37, 9, 11), g)
    dy = torch.randn(x.shape, generator=g)
    expected, expected_grad = OP(x, 3, *ZF), OP_BACKWARD(dy, x, 3, *ZF)
    cl = channels_last(x)
    out, grad = OP(cl, 3, *ZF), OP_BACKWARD(dy, cl, 3, *ZF)
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    assert grad.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, expected) and torch.equal(grad, expected_grad)
    assert torch.equal(OP_BACKWARD(channels_last(dy), x, 3, *ZF), expected_grad)  # dy's layout follows x's
    strided = x.transpose(2, 3).contiguous().transpose(2, 3)
    assert torch.equal(OP(strided, 3, *ZF), expected) and OP(strided, 3, *ZF).is_contiguous()
    assert torch.equal(OP(x[:, ::2], 3, *ZF), OP(x[:, ::2].contiguous(), 3, *ZF))


def _forward_and_backward(x, dy):
    return [f(t) for t in (x, channels_last(x)) for f in (
        lambda t: OP(t, 3, *ZF), lambda t: OP_BACKWARD(dy, t, 3, *ZF), lambda t: OP(t, 5, 1e-3, 0.6),
        lambda t: OP_BACKWARD(dy, t, 5, 1e-3, 0.6))]


def _cases():
    g = torch.Generator().manual_seed(4)
    return [(conv_like((2, 37, 23, 19), g, dtype), torch.randn(2, 37, 23, 19, generator=g, dtype=dtype))
            for dtype in (torch.float32, torch.float64)]


def test_thread_count_does_not_change_result():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = [_forward_and_backward(*case) for case in _cases()]
        torch.set_num_threads(2)
        two = [_forward_and_backward(*case) for case in _cases()]
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for ones, twos in zip(one, two) for a, b in zip(ones, twos))


@pytest.mark.parametrize('capability', ['default', 'avx2'])
def test_vector_width_does_not_change_result(capability, tmp_path):
    """The 16-byte (SSE2 / NEON) and AVX2 forms of the kernels give the results of the widest this
    CPU runs, bit for bit (no fused multiply-add in any of them)."""
    cases = _cases()
    theirs_all = forward_and_backward_at(capability, 'tests.custom_ops.test_within_channel_lrn', cases, tmp_path)
    for (x, dy), theirs in zip(cases, theirs_all):
        assert all(torch.equal(a, b) for a, b in zip(_forward_and_backward(x, dy), theirs))


def _opcheck_samples():
    g = torch.Generator().manual_seed(5)
    samples = []
    for dtype, layout, size, alpha, beta in [(torch.float32, torch.contiguous_format, 3, *ZF),
                                             (torch.float32, torch.channels_last, 3, *ZF),
                                             (torch.float64, torch.channels_last, 5, 1e-3, 0.6),
                                             (torch.float64, torch.contiguous_format, 1, 1e-3, 0.75)]:
        x = conv_like((2, 3, 5, 6), g, dtype).contiguous(memory_format=layout).requires_grad_()
        samples.append((x, size, alpha, beta))
    samples.append((torch.zeros(0, 3, 4, 4, requires_grad=True), 3, *ZF))
    return samples


@pytest.mark.parametrize('sample', _opcheck_samples())
def test_opcheck_forward(sample):
    opcheck(OP, sample)


@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last])
def test_opcheck_backward(layout):
    g = torch.Generator().manual_seed(6)
    x = conv_like((2, 4, 5, 6), g).contiguous(memory_format=layout)
    opcheck(OP_BACKWARD, (torch.randn(x.shape, generator=g), x, 3, *ZF))


def test_fake_tensors_give_shape_and_layout():
    x = torch.empty(2, 96, 160, 240, device='meta')
    assert OP(x, 3, *ZF).shape == x.shape and OP(x, 3, *ZF).is_contiguous()
    out = OP(channels_last(x), 3, *ZF)
    assert out.device.type == 'meta' and out.stride() == channels_last(x).stride()
    assert OP_BACKWARD(x, channels_last(x), 3, *ZF).stride() == channels_last(x).stride()


def test_empty_and_single_cell_inputs():
    assert OP(torch.zeros(0, 3, 5, 5), 3, *ZF).shape == (0, 3, 5, 5)
    assert OP(torch.zeros(2, 3, 0, 5), 3, *ZF).shape == (2, 3, 0, 5)
    x = torch.tensor([[[[2.0]], [[-3.0]]]])
    torch.testing.assert_close(OP(x, 5, 0.5, 0.75), reference_within_channel_lrn(x, 5, 0.5, 0.75).float())


BAD_INPUTS = [
    ('3-D input', dict(x=torch.zeros(4, 5, 5)), RuntimeError, 'input must be 4-D'),
    ('even size', dict(size=2), ValueError, 'size must be a positive odd number'),
    ('zero size', dict(size=0), ValueError, 'size must be a positive odd number'),
    ('negative size', dict(size=-3), ValueError, 'size must be a positive odd number'),
    ('integer dtype', dict(x=torch.zeros(1, 1, 4, 4, dtype=torch.int32)), RuntimeError, 'float32 and float64'),
    ('half dtype', dict(x=torch.zeros(1, 1, 4, 4, dtype=torch.float16)), RuntimeError, 'float32 and float64'),
]


@pytest.mark.parametrize('name,override,error,message', BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_clear_error(name, override, error, message):
    args = dict(x=torch.zeros(1, 1, 4, 4), size=3)
    args.update(override)
    with pytest.raises(error, match=message):
        OP(args['x'], args['size'], *ZF)
    with pytest.raises(error, match=message):  # the fake kernel makes the same checks
        OP(args['x'].to('meta'), args['size'], *ZF)
    with pytest.raises(error, match=message):
        OP_BACKWARD(torch.zeros_like(args['x']), args['x'], args['size'], *ZF)


def test_backward_rejects_mismatched_gradient():
    x = torch.zeros(1, 2, 4, 4)
    with pytest.raises(RuntimeError, match='same shape'):
        OP_BACKWARD(torch.zeros(1, 2, 4, 5), x, 3, *ZF)
    with pytest.raises(RuntimeError, match='same dtype'):
        OP_BACKWARD(torch.zeros(1, 2, 4, 4, dtype=torch.float64), x, 3, *ZF)
    with pytest.raises(RuntimeError, match='same device'):
        OP_BACKWARD(torch.zeros(1, 2, 4, 4, device='meta'), x, 3, *ZF)
