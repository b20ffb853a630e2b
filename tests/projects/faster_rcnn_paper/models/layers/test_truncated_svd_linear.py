import pytest
import torch

from faster_rcnn_paper.models.layers import TruncatedSVDLinear


def test_full_rank_is_exact_and_truncation_is_optimal():
    torch.manual_seed(0)
    fc = torch.nn.Linear(12, 8)
    x = torch.randn(5, 12)
    full = TruncatedSVDLinear.from_linear(fc, 8)
    torch.testing.assert_close(full(x), fc(x), rtol=1e-5, atol=1e-5)
    low = TruncatedSVDLinear.from_linear(fc, 3)
    approx = low.second.weight @ low.first.weight
    s = torch.linalg.svdvals(fc.weight.double())
    # Eckart-Young: the error is the norm of the dropped singular values
    assert (approx - fc.weight).norm().item() == pytest.approx(s[3:].norm().item(), rel=1e-4)
    assert torch.equal(low.second.bias, fc.bias)
    assert low.first.bias is None and low.first.weight.shape == (3, 12)


def test_bad_rank():
    with pytest.raises(ValueError, match='rank'):
        TruncatedSVDLinear(4, 6, 5)
