import pytest
import torch

from faster_rcnn_paper.models.layers import CaffeDropout, WithinChannelLRN


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


@pytest.mark.parametrize('size, alpha, beta', [(3, 5e-5, 0.75), (5, 1e-3, 0.6)])
def test_within_channel_lrn_gradient_is_the_formulas(size, alpha, beta):
    """The closed-form backward equals autograd through the formula, written out here with an
    explicit zero-padded window sum (float64), and passes gradcheck."""
    torch.manual_seed(0)
    x = (torch.randn(2, 3, 6, 7, dtype=torch.float64) * 40).requires_grad_()
    weight = torch.randn(2, 3, 6, 7, dtype=torch.float64)
    lrn = WithinChannelLRN(size, alpha, beta)
    (grad, ) = torch.autograd.grad((lrn(x) * weight).sum(), x)

    half = size // 2
    padded = torch.nn.functional.pad(x * x, (half, ) * 4)
    window = sum(padded[:, :, i:i + 6, j:j + 7] for i in range(size) for j in range(size))
    reference = x / (1 + alpha * window / size ** 2) ** beta
    (expected, ) = torch.autograd.grad((reference * weight).sum(), x)
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lrn, (x[:1, :2, :4, :5].detach().clone().requires_grad_(), ))


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
