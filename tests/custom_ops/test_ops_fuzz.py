"""Property-based fuzzing of the compiled ops: random shapes, NaN / inf / huge / negative RoIs and
batch indices. Nothing may crash or read out of bounds: every call returns a well-formed result
that equals the pure-Python reference, or raises a clear Python exception."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faster_rcnn_ops import nms
from .roi_pool_reference import reference_roi_pool
from .within_channel_lrn_reference import reference_within_channel_lrn

COORD = st.one_of(
    st.floats(-50, 250, allow_nan=False),
    st.sampled_from([0.0, -0.5, 0.5, 15.5, 16.0, -1e30, 1e30, 3.4e38, -3.4e38,
                     float('nan'), float('inf'), float('-inf')]),
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def roi_pool_inputs(draw):
    n = draw(st.integers(1, 3))
    c = draw(st.integers(1, 20))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    k = draw(st.integers(0, 6))
    rois = [[float(draw(st.integers(0, n - 1)))] + [draw(COORD) for _ in range(4)] for _ in range(k)]
    return dict(n=n, c=c, h=h, w=w, rois=rois, scale=draw(st.sampled_from([1.0, 0.5, 1 / 16])),
                pooled=(draw(st.integers(1, 7)), draw(st.integers(1, 7))),
                dtype=draw(st.sampled_from([torch.float32, torch.float64])), seed=draw(st.integers(0, 2**16)))


@FUZZ
@given(roi_pool_inputs())
def test_roi_pool_fuzz_matches_reference(case):
    g = torch.Generator().manual_seed(case['seed'])
    f = torch.randn(case['n'], case['c'], case['h'], case['w'], generator=g, dtype=torch.float64).to(case['dtype'])
    rois = torch.tensor(case['rois'], dtype=case['dtype']).reshape(-1, 5)
    out, arg = torch.ops.faster_rcnn.roi_pool(f, rois, case['scale'], *case['pooled'])
    assert out.shape == (len(rois), case['c'], *case['pooled'])
    assert torch.isfinite(out).all()
    assert ((arg >= -1) & (arg < case['h'] * case['w'])).all()
    ref_out, ref_arg = reference_roi_pool(f, rois, case['scale'], *case['pooled'])
    assert torch.equal(out, ref_out) and torch.equal(arg, ref_arg)
    grad = torch.ops.faster_rcnn.roi_pool_backward(torch.ones_like(out), arg, rois, case['n'], case['c'],
                                                   case['h'], case['w'])
    assert torch.isfinite(grad).all() and grad.sum().item() == pytest.approx(float((arg >= 0).sum()))


@FUZZ
@given(st.lists(st.one_of(st.integers(-3, 5).map(float), st.sampled_from([0.5, float('nan'), float('inf'), 1e20])),
                min_size=1, max_size=5))
def test_roi_pool_fuzz_batch_indices(indices):
    f = torch.zeros(2, 1, 4, 4)
    rois = torch.tensor([[b, 0.0, 0.0, 3.0, 3.0] for b in indices])
    valid = all(math.isfinite(b) and b == int(b) and 0 <= b < 2 for b in indices)
    if valid:
        out, _ = torch.ops.faster_rcnn.roi_pool(f, rois, 1.0, 2, 2)
        assert out.shape == (len(indices), 1, 2, 2)
    else:
        with pytest.raises(ValueError, match='out of range|integral batch index'):
            torch.ops.faster_rcnn.roi_pool(f, rois, 1.0, 2, 2)


@FUZZ
@given(st.integers(0, 40), st.floats(0.0, 1.0), st.integers(0, 1), st.integers(-1, 10), st.integers(0, 2**16),
       st.booleans())
def test_nms_fuzz(n, thr, offset, max_output, seed, with_nan):
    g = torch.Generator().manual_seed(seed)
    boxes = torch.rand(n, 4, generator=g) * 50
    boxes[:, 2:] += boxes[:, :2]
    if with_nan and n:
        boxes[0, 0] = float('nan')
    scores = torch.rand(n, generator=g)
    keep = nms(boxes, scores, thr, offset, max_output)
    assert keep.dtype == torch.long and len(set(keep.tolist())) == len(keep)
    assert ((keep >= 0) & (keep < max(n, 1))).all()
    if max_output > 0:
        assert len(keep) <= max_output
    assert (scores[keep][:-1] >= scores[keep][1:]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 2), st.integers(1, 4), st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3, 5, 7]),
       st.sampled_from([(5e-5, 0.75), (1e-2, 0.75), (1e-2, 0.6)]), st.booleans(),
       st.sampled_from([torch.float32, torch.float64]), st.integers(0, 2**16))
def test_within_channel_lrn_fuzz_matches_reference(n, c, h, w, size, alpha_beta, channels_last, dtype, seed):
    """Any map size (windows larger than the map included), either layout: the NumPy loop's
    values, and a gradient of the input's shape and layout."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 100).to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = torch.ops.faster_rcnn.within_channel_lrn(x, size, *alpha_beta)
    expected = reference_within_channel_lrn(x, size, *alpha_beta)
    tol = dict(rtol=1e-12, atol=0) if dtype == torch.float64 else dict(rtol=2e-6, atol=1e-5)
    torch.testing.assert_close(out.double(), expected, **tol)
    grad = torch.ops.faster_rcnn.within_channel_lrn_backward(torch.ones_like(x), x, size, *alpha_beta)
    assert grad.shape == x.shape and grad.stride() == out.stride() and torch.isfinite(grad).all()
