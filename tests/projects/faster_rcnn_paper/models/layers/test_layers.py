import pytest
import torch

from faster_rcnn_paper.models.layers import CaffeDropout, WithinChannelLRN
from faster_rcnn_paper.models.layers import within_channel_lrn as lrn_module
from faster_rcnn_paper.models.layers.within_channel_lrn import within_channel_lrn_formula


def test_within_channel_lrn_matches_caffe_formula():
    """x / (1 + alpha * mean over the 3x3 window of x^2, padding counted)^beta, per channel."""
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64) * 30
    lrn = WithinChannelLRN(3, 5e-5, 0.75)
    out = lrn(x)
    padded = torch.nn.functional.pad(x * x, (1, 1, 1, 1))
    for c in range(2):
        for h in range(4):
            for w in range(5):
                mean = padded[0, c, h:h + 3, w:w + 3].sum() / 9
                expected = x[0, c, h, w] / (1 + 5e-5 * mean) ** 0.75
                assert out[0, c, h, w].item() == pytest.approx(expected.item(), rel=1e-12)
    # channels do not mix (unlike torch.nn.LocalResponseNorm)
    y = x.clone()
    y[0, 1] *= 100
    assert torch.equal(lrn(y)[0, 0], out[0, 0])


IMPLEMENTATIONS = {
    'compiled op (CPU)': lambda size, alpha, beta: WithinChannelLRN(size, alpha, beta),
    'PyTorch formula (other devices)': lambda size, alpha, beta: (
        lambda x: within_channel_lrn_formula(x, size, alpha, beta)),
}


@pytest.mark.parametrize('implementation', IMPLEMENTATIONS.values(), ids=IMPLEMENTATIONS.keys())
@pytest.mark.parametrize('size, alpha, beta', [(3, 5e-5, 0.75), (5, 1e-3, 0.6)])
def test_within_channel_lrn_gradient_is_the_formulas(size, alpha, beta, implementation):
    """The closed-form backward equals autograd through the formula, written out here with an
    explicit zero-padded window sum (float64), and passes gradcheck; for the layer (the compiled op
    on CPU) and for the pure-PyTorch path it takes on other devices."""
    torch.manual_seed(0)
    x = (torch.randn(2, 3, 6, 7, dtype=torch.float64) * 40).requires_grad_()
    weight = torch.randn(2, 3, 6, 7, dtype=torch.float64)
    lrn = implementation(size, alpha, beta)
    (grad, ) = torch.autograd.grad((lrn(x) * weight).sum(), x)

    half = size // 2
    padded = torch.nn.functional.pad(x * x, (half, ) * 4)
    window = sum(padded[:, :, i:i + 6, j:j + 7] for i in range(size) for j in range(size))
    reference = x / (1 + alpha * window / size ** 2) ** beta
    (expected, ) = torch.autograd.grad((reference * weight).sum(), x)
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lrn, (x[:1, :2, :4, :5].detach().clone().requires_grad_(), ))


@pytest.mark.parametrize('size', [1, 3, 5])
@pytest.mark.parametrize('layout', [torch.channels_last, torch.contiguous_format], ids=['channels-last', 'contiguous'])
def test_within_channel_lrn_op_equals_the_pytorch_formula(size, layout):
    """On CPU the layer runs the compiled op, whose float32 outputs and gradients are the
    pure-PyTorch formula's up to float32 rounding, on a ZF conv1-like map in either layout."""
    g = torch.Generator().manual_seed(size)
    x = torch.relu(torch.randn(2, 96, 20, 30, generator=g) * 200).contiguous(memory_format=layout)
    dy = torch.randn(x.shape, generator=g)
    ours, ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = WithinChannelLRN(size)(ours)
    expected = within_channel_lrn_formula(ref, size, 5e-5, 0.75)
    out.backward(dy)
    expected.backward(dy)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6 * expected.abs().max().item())
    torch.testing.assert_close(ours.grad, ref.grad, rtol=1e-5, atol=1e-6 * ref.grad.abs().max().item())
    assert out.is_contiguous(memory_format=layout) and ours.grad.is_contiguous(memory_format=layout)


@pytest.mark.parametrize('dtype, device, compiled', [(torch.float32, 'cpu', True), (torch.float64, 'cpu', True),
                                                     (torch.bfloat16, 'cpu', False), (torch.float32, 'meta', False)])
def test_within_channel_lrn_takes_the_op_on_cpu_only(dtype, device, compiled, monkeypatch):
    """The compiled op for CPU float32 / float64, the PyTorch formula for other dtypes and devices."""
    calls = []
    op = lrn_module.compiled_within_channel_lrn
    monkeypatch.setattr(lrn_module, 'compiled_within_channel_lrn', lambda *args: calls.append(args) or op(*args))
    out = WithinChannelLRN()(torch.ones(1, 2, 4, 4, dtype=dtype, device=device))
    assert len(calls) == int(compiled) and out.dtype == dtype and out.device.type == device


def test_caffe_dropout_scales_at_test_time():
    x = torch.ones(1000, 100)
    drop = CaffeDropout(0.5, scale_train=False)
    drop.train()
    y = drop(x)
    assert set(y.unique().tolist()) <= {0.0, 1.0}  # kept units are not rescaled in training
    assert 0.45 < y.mean().item() < 0.55
    drop.eval()
    assert torch.equal(drop(x), x * 0.5)  # test time multiplies by (1 - p)
    standard = CaffeDropout(0.5, scale_train=True).train()
    assert set(standard(x).unique().tolist()) <= {0.0, 2.0}
    with pytest.raises(ValueError):
        CaffeDropout(1.0)
