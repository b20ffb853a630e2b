"""Tests of faster_rcnn_ops.roi_warp (MNC RoI warping, Faster R-CNN §3.2 option iii): golden values
against a pure-Python reference, gradients w.r.t. features and box coordinates, registration and
bad input."""
import numpy as np
import pytest
import torch
from torch.library import opcheck

from faster_rcnn_ops import RoIWarp, roi_warp
from .roi_warp_reference import (box_on_map, interpolate, reference_roi_warp,
                                 reference_roi_warp_backward, sample_points)

OP = torch.ops.faster_rcnn.roi_warp
OP_BACKWARD = torch.ops.faster_rcnn.roi_warp_backward
NAN, INF = float('nan'), float('inf')


def random_rois(num, batch, height, width, scale, generator, dtype):
    """RoIs inside, partly outside and fully outside an image of the map's size / scale, plus
    zero-size, tiny and inverted (x2 + 1 < x1) boxes."""
    img_h, img_w = height / scale, width / scale
    x1 = torch.rand(num, generator=generator, dtype=torch.float64) * img_w * 1.6 - 0.3 * img_w
    y1 = torch.rand(num, generator=generator, dtype=torch.float64) * img_h * 1.6 - 0.3 * img_h
    w = torch.rand(num, generator=generator, dtype=torch.float64) * img_w
    h = torch.rand(num, generator=generator, dtype=torch.float64) * img_h
    b = torch.randint(0, batch, (num,), generator=generator).double()
    rois = torch.stack([b, x1, y1, x1 + w, y1 + h], dim=1)
    rois[0, 3:] = rois[0, 1:3] - 1  # zero size: x2 + 1 = x1
    rois[1, 3:] = rois[1, 1:3] - 0.9  # tiny: 0.1 px
    rois[2, 3:] = rois[2, 1:3] - 20  # inverted
    rois[3, 1:] = torch.tensor([-3 * img_w, -3 * img_h, -2 * img_w, -2 * img_h])  # fully outside
    rois[4, 1:] = torch.tensor([0.0, 0.0, img_w - 1, img_h - 1])  # whole image
    rois[5, 1:] = torch.tensor([-img_w / 2, -img_h / 2, img_w / 2, img_h / 2])  # partly outside
    return rois.to(dtype)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('scale,out_size,ratio', [(1 / 16, (7, 7), 2), (0.5, (3, 5), 1), (1.0, (2, 3), 3)])
def test_matches_reference(dtype, scale, out_size, ratio):
    g = torch.Generator().manual_seed(0)
    features = torch.randn(2, 19, 9, 13, generator=g, dtype=torch.float64).to(dtype)
    rois = random_rois(40, 2, 9, 13, scale, g, dtype)
    out, arg = OP(features, rois, scale, *out_size, ratio)
    ref_out, ref_arg = reference_roi_warp(features, rois, scale, *out_size, ratio)
    torch.testing.assert_close(out, ref_out)
    assert torch.equal(arg, ref_arg)
    assert (out[3] == 0).all()  # fully outside: zero padding everywhere
    grad = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
    grad_f, grad_r = OP_BACKWARD(grad, arg, features, rois, scale, ratio)
    ref_f, ref_r = reference_roi_warp_backward(grad, arg, features, rois, scale, ratio)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(grad_f, ref_f.to(dtype), **tol)
    torch.testing.assert_close(grad_r, ref_r.to(dtype), **tol)
    assert (grad_r[:, 0] == 0).all() and (grad_r[3] == 0).all()
    assert (grad_r[4:6, 1:] != 0).all()  # whole-image and partly outside boxes move the output


def _linear_map():
    """4x4 map F[h, w] = 4h + w + 1 (1..16 row-major): bilinear interpolation is exact inside the
    cell-centre hull, f(px, py) = 4 (py - 0.5) + (px - 0.5) + 1."""
    return (torch.arange(16, dtype=torch.float64) + 1).view(1, 1, 4, 4)


def test_one_cell_box_hand_computed():
    """Box over cell (1, 1): X1 = 1, X2 = 2; samples at px, py in {1.25, 1.75} (u, v in {0.75, 1.25});
    the largest is f(1.75, 1.75) = 4 * 1.25 + 1.25 + 1 = 7.25, sample (1, 1) -> argmax 3."""
    f = _linear_map().requires_grad_(True)
    rois = torch.tensor([[0.0, 1, 1, 1, 1]], dtype=torch.float64, requires_grad=True)
    out, arg = OP(f, rois, 1.0, 1, 1, 2)
    assert out.item() == 7.25 and arg.item() == 3
    out.sum().backward()
    # u = v = 1.25: cells (1, 1), (1, 2), (2, 1), (2, 2) with weights .75*.75, .75*.25, .25*.75, .25*.25.
    expected = torch.zeros(4, 4, dtype=torch.float64)
    expected[1:3, 1:3] = torch.tensor([[0.5625, 0.1875], [0.1875, 0.0625]])
    assert torch.equal(f.grad[0, 0], expected)
    # df/dpx = 1, df/dpy = 4; t = (0 + 1.5 / 2) / 1 = 0.75 -> d/dx1 = 0.25, d/dx2 = 0.75 (y: x 4).
    assert rois.grad.tolist() == [[0.0, 0.25, 1.0, 0.75, 3.0]]


def test_points_between_cell_centres_hand_computed():
    f = _linear_map()
    # r = 1: one sample at the box centre. X = [0.5, 1.5] -> px = py = 1.0: the midpoint of the
    # centres of cells (0, 0), (0, 1), (1, 0), (1, 1): (1 + 2 + 5 + 6) / 4 = 3.5.
    out = roi_warp(f, torch.tensor([[0.0, 0.5, 0.5, 0.5, 0.5]], dtype=torch.float64), 1, 1.0, 1)
    assert out.item() == 3.5
    # px = 1.0 (between columns 0 and 1), py = 2.5 (on the centre of row 2): (9 + 10) / 2 = 9.5.
    out = roi_warp(f, torch.tensor([[0.0, 0.5, 2.0, 0.5, 2.0]], dtype=torch.float64), 1, 1.0, 1)
    assert out.item() == 9.5


def test_zero_padding_at_the_border_hand_computed():
    """Ones on a 2x2 map; one sample at px = 0.25 (u = -0.25: 1/4 on the zero column -1, 3/4 on
    column 0) and py = 1.0 (between the two rows): f = 0.75, df/dpx = 1, df/dpy = 0."""
    f = torch.ones(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0.0, -0.25, 0.5, -0.25, 0.5]], dtype=torch.float64, requires_grad=True)
    out = roi_warp(f, rois, 1, 1.0, 1)
    assert out.item() == 0.75
    out.backward()
    assert f.grad.flatten().tolist() == [0.375, 0.0, 0.375, 0.0]
    assert rois.grad.tolist() == [[0.0, 0.5, 0.0, 0.5, 0.0]]  # t = 0.5 for both ends
    # Fully outside (every neighbour of every sample off the map): 0, no gradient.
    f.grad = rois.grad = None
    far = torch.tensor([[0.0, 5, 5, 9, 9]], dtype=torch.float64, requires_grad=True)
    out = roi_warp(f, far, 2, 1.0, 2)
    assert (out == 0).all()
    out.sum().backward()
    assert (f.grad == 0).all() and (far.grad == 0).all()


def test_ties_take_the_first_sample_and_nan_samples_lose():
    # Zero-size box: all samples of a bin coincide -> argmax 0.
    f = torch.randn(1, 3, 5, 5)
    out, arg = OP(f, torch.tensor([[0.0, 2, 2, 1, 1]]), 1.0, 2, 2, 2)
    assert (arg == 0).all()
    # Samples at the four cell centres of a 2x2 map (whole-map box, r = 2): sample 0 reads the NaN
    # cell only, the others are finite and win; an all-NaN map gives NaN with argmax 0.
    f = torch.tensor([[[[NAN, 1.0], [3.0, 2.0]]]])
    out, arg = OP(f, torch.tensor([[0.0, 0, 0, 1, 1]]), 1.0, 1, 1, 2)
    assert out.item() == 3.0 and arg.item() == 2
    out, arg = OP(torch.full((1, 1, 2, 2), NAN), torch.tensor([[0.0, 0, 0, 1, 1]]), 1.0, 1, 1, 2)
    assert out.isnan().all() and arg.item() == 0


def test_channels_last_and_non_contiguous_inputs_agree():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 33, 10, 11, generator=g)
    rois = random_rois(20, 2, 10, 11, 0.25, g, torch.float32)
    expected, _ = OP(f, rois, 0.25, 4, 4, 2)
    cl, _ = OP(f.contiguous(memory_format=torch.channels_last), rois, 0.25, 4, 4, 2)
    strided = torch.cat([rois, rois], dim=1)[:, ::2]
    strided[:] = rois
    nc, _ = OP(f.transpose(2, 3).contiguous().transpose(2, 3), strided, 0.25, 4, 4, 2)
    assert torch.equal(cl, expected) and torch.equal(nc, expected)


def test_thread_count_does_not_change_result():
    g = torch.Generator().manual_seed(2)
    f = torch.randn(1, 40, 12, 12, generator=g)
    rois = random_rois(30, 1, 12, 12, 0.5, g, torch.float32)
    grad = torch.randn(30, 40, 7, 7, generator=g)
    threads = torch.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            out, arg = OP(f, rois, 0.5, 7, 7, 2)
            results.append((out, arg) + tuple(OP_BACKWARD(grad, arg, f, rois, 0.5, 2)))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(*results))


def _opcheck_samples():
    g = torch.Generator().manual_seed(3)
    samples = []
    for dtype in (torch.float32, torch.float64):
        f = torch.randn(2, 5, 8, 9, generator=g, dtype=dtype, requires_grad=True)
        rois = random_rois(8, 2, 8, 9, 0.5, g, dtype).requires_grad_(True)
        samples.append((f, rois, 0.5, 3, 2, 2))
    empty = torch.randn(1, 3, 4, 4, requires_grad=True)
    samples.append((empty, torch.zeros(0, 5, requires_grad=True), 1.0, 2, 2, 1))
    return samples


@pytest.mark.parametrize('sample', _opcheck_samples())
def test_opcheck_forward(sample):
    opcheck(OP, sample)


def test_opcheck_backward():
    g = torch.Generator().manual_seed(4)
    f = torch.randn(2, 5, 8, 9, generator=g)
    rois = random_rois(8, 2, 8, 9, 0.5, g, torch.float32)
    out, arg = OP(f, rois, 0.5, 3, 3, 2)
    opcheck(OP_BACKWARD, (torch.randn_like(out), arg, f, rois, 0.5, 2))


def _well_conditioned(features, roi, scale, out_size, ratio, margin=0.02, gap=0.02):
    """True when ``roi``'s output is smooth near the current inputs, so finite differences (eps 1e-6)
    measure the analytic gradient:
    - no sample coordinate lies within ``margin`` cells of a kink of the bilinear interpolation
      (u = pos - 0.5 an integer: a cell centre, or the edge of the zero padding at -1 and W);
    - in every bin and channel, no sample comes within ``gap`` of the maximum, unless all of them
      are fully outside the map (then all are the constant 0 nearby and tie harmlessly).
    A perturbation of 1e-6 moves a sample by at most 1e-6 cells and its value by about 1e-6 times
    the map's slopes, far less than either margin, so it can neither cross a kink nor change an
    argmax."""
    planes = features[int(roi[0])].detach().numpy()
    height, width = planes.shape[1:]
    box = box_on_map(roi.detach().numpy(), scale, np.float64)
    bins = {}
    for s in sample_points(box, *out_size, ratio, np.float64):
        u, v = s.x.pos - 0.5, s.y.pos - 0.5
        if min(abs(u - round(u)), abs(v - round(v))) < margin:
            return False
        outside = u < -1 or u > width or v < -1 or v > height
        bins.setdefault((s.ph, s.pw), []).append((interpolate(planes, s, np.float64)[0], outside))
    for samples in bins.values():
        values = np.stack([value for value, _ in samples])  # (r * r, C)
        outside = np.array([o for _, o in samples])
        contenders = values > values.max(axis=0) - gap
        for c in range(values.shape[1]):
            if contenders[:, c].sum() > 1 and not outside[contenders[:, c]].all():
                return False
    return True


def test_gradcheck_features_and_box_coordinates_float64():
    g = torch.Generator().manual_seed(5)
    scale, out_size, ratio = 0.5, (2, 3), 2
    f = torch.randn(2, 2, 6, 7, generator=g, dtype=torch.float64)
    img_h, img_w = 6 / scale, 7 / scale
    # Boxes of three kinds, two each, among random candidates that pass _well_conditioned.
    kinds = {
        'inside': lambda x, y, w, h: (x * (img_w - w), y * (img_h - h), w, h),
        'partly outside': lambda x, y, w, h: (x * img_w - w / 2, y * img_h - h / 2, w, h),
        'inverted': lambda x, y, w, h: (w + x * (img_w - w), h + y * (img_h - h), -w, -h),
    }
    rows = []
    for kind, place in kinds.items():
        found = 0
        for _ in range(400):
            x, y, w, h = torch.rand(4, generator=g, dtype=torch.float64).tolist()
            x1, y1, bw, bh = place(x, y, 3 + w * (img_w - 3), 3 + h * (img_h - 3))
            roi = torch.tensor([float(found % 2), x1, y1, x1 + bw - 1, y1 + bh - 1], dtype=torch.float64)
            if _well_conditioned(f, roi, scale, out_size, ratio):
                rows.append(roi)
                found += 1
                if found == 2:
                    break
        assert found == 2, f'too few well-conditioned {kind} boxes'
    rois = torch.stack(rows)
    batch, coords = rois[:, :1], rois[:, 1:].clone().requires_grad_(True)
    f.requires_grad_(True)

    def warp(features, boxes):
        return roi_warp(features, torch.cat([batch, boxes], dim=1), out_size, scale, ratio)

    assert torch.autograd.gradcheck(warp, (f, coords))
    # Both inputs really get gradient, and the batch-index column none.
    full = rois.clone().requires_grad_(True)
    f.grad = None
    roi_warp(f, full, out_size, scale, ratio).sum().backward()
    assert (f.grad != 0).any() and (full.grad[:, 1:] != 0).all() and (full.grad[:, 0] == 0).all()


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_gradients_finite_for_degenerate_huge_and_nan_boxes(dtype):
    g = torch.Generator().manual_seed(6)
    f = torch.randn(1, 4, 6, 6, generator=g, dtype=dtype, requires_grad=True)
    rois = torch.tensor([
        [0, 2, 2, 1, 1],                    # zero size
        [0, 3, 3, 2.95, 2.95],              # 0.05 px
        [0, 5, 5, 1, 0],                    # inverted
        [0, -40, -40, -30, -30],            # fully outside
        [0, -3, 2, 8, 3],                   # partly outside
        [0, -1e30, -1e30, 1e30, 1e30],      # huge: clamped
        [0, -INF, -INF, INF, INF],          # infinite: clamped
        [0, 1e38, 1e38, -1e38, -1e38],      # huge and inverted
        [0, NAN, 0, 5, 5],                  # NaN: invalid RoI
    ], dtype=dtype, requires_grad=True)
    out = roi_warp(f, rois, 3, 1.0, 2)
    assert torch.isfinite(out).all()
    assert (out[-1] == 0).all() and (out[3] == 0).all()
    out.backward(torch.randn(out.shape, generator=g, dtype=dtype))
    assert torch.isfinite(f.grad).all() and torch.isfinite(rois.grad).all()
    assert (rois.grad[-1] == 0).all() and (rois.grad[3] == 0).all()
    assert (rois.grad[5:8] == 0).all()  # every coordinate clamped: no gradient through the clamp
    assert (rois.grad[:3, 1:] != 0).any(dim=1).all()  # degenerate boxes still get gradient
    _, arg = OP(f.detach(), rois.detach(), 1.0, 3, 3, 2)
    assert (arg[-1] == -1).all() and (arg[:-1] >= 0).all()


def test_module_form_and_fake_tensors():
    warp = RoIWarp((2, 3), spatial_scale=0.5, sampling_ratio=3)
    assert repr(warp) == 'RoIWarp(output_size=(2, 3), spatial_scale=0.5, sampling_ratio=3)'
    assert repr(RoIWarp(7, 1 / 16)) == 'RoIWarp(output_size=(7, 7), spatial_scale=0.0625, sampling_ratio=2)'
    assert warp(torch.randn(1, 4, 5, 5), torch.tensor([[0.0, 0, 0, 6, 6]])).shape == (1, 4, 2, 3)
    f = torch.empty(2, 7, 20, 30, device='meta')
    out, arg = OP(f, torch.empty(11, 5, device='meta'), 1 / 16, 6, 6, 2)
    assert out.shape == (11, 7, 6, 6) and out.device.type == 'meta' and arg.dtype == torch.int32
    grad_f, grad_r = OP_BACKWARD(out, arg, f, torch.empty(11, 5, device='meta'), 1 / 16, 2)
    assert grad_f.shape == f.shape and grad_r.shape == (11, 5)


BAD_INPUTS = [
    ('3-D features', dict(features=torch.zeros(4, 5, 5)), RuntimeError, 'features must be 4-D'),
    ('rois not (K, 5)', dict(rois=torch.zeros(2, 4)), RuntimeError, r'rois must be of shape \(K, 5\)'),
    ('rois 1-D', dict(rois=torch.zeros(5)), RuntimeError, r'rois must be of shape \(K, 5\)'),
    ('dtype mismatch', dict(rois=torch.zeros(1, 5, dtype=torch.float64)), RuntimeError, 'same dtype'),
    ('integer dtype', dict(features=torch.zeros(1, 1, 4, 4, dtype=torch.int32),
                           rois=torch.zeros(1, 5, dtype=torch.int32)), RuntimeError, 'float32 and float64'),
    ('half dtype', dict(features=torch.zeros(1, 1, 4, 4, dtype=torch.float16),
                        rois=torch.zeros(1, 5, dtype=torch.float16)), RuntimeError, 'float32 and float64'),
    ('device mismatch', dict(rois=torch.zeros(1, 5, device='meta')), RuntimeError, 'same device'),
    ('batch index too large', dict(rois=torch.tensor([[1.0, 0, 0, 2, 2]])), ValueError, 'out of range'),
    ('negative batch index', dict(rois=torch.tensor([[-1.0, 0, 0, 2, 2]])), ValueError, 'out of range'),
    ('fractional batch index', dict(rois=torch.tensor([[0.5, 0, 0, 2, 2]])), ValueError, 'integral'),
    ('NaN batch index', dict(rois=torch.tensor([[NAN, 0, 0, 2, 2]])), ValueError, 'integral'),
    ('inf batch index', dict(rois=torch.tensor([[INF, 0, 0, 2, 2]])), ValueError, 'integral'),
    ('zero output size', dict(out_size=(0, 2)), ValueError, 'output size must be positive'),
    ('negative output size', dict(out_size=(2, -1)), ValueError, 'output size must be positive'),
    ('zero sampling ratio', dict(ratio=0), ValueError, 'sampling_ratio'),
    ('negative sampling ratio', dict(ratio=-2), ValueError, 'sampling_ratio'),
    ('sampling ratio beyond int32 argmax', dict(ratio=46341), ValueError, 'sampling_ratio'),
    ('zero spatial scale', dict(scale=0.0), ValueError, 'spatial_scale'),
    ('NaN spatial scale', dict(scale=NAN), ValueError, 'spatial_scale'),
]


@pytest.mark.parametrize('name,override,error,message', BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_clear_error(name, override, error, message):
    args = dict(features=torch.zeros(1, 1, 4, 4), rois=torch.tensor([[0.0, 0, 0, 2, 2]]), scale=1.0,
                out_size=(2, 2), ratio=2)
    args.update(override)
    with pytest.raises(error, match=message):
        OP(args['features'], args['rois'], args['scale'], *args['out_size'], args['ratio'])


def _backward_args(**override):
    args = dict(grad=torch.ones(1, 1, 2, 2), argmax=torch.zeros(1, 1, 2, 2, dtype=torch.int32),
                features=torch.zeros(1, 1, 4, 4), rois=torch.tensor([[0.0, 0, 0, 2, 2]]), scale=1.0,
                ratio=2)
    args.update(override)
    return args['grad'], args['argmax'], args['features'], args['rois'], args['scale'], args['ratio']


BAD_BACKWARD_INPUTS = [
    ('argmax past r * r', dict(argmax=torch.full((1, 1, 2, 2), 4, dtype=torch.int32)), ValueError,
     r'sample index outside \[-1, 4\)'),
    ('argmax below -1', dict(argmax=torch.full((1, 1, 2, 2), -2, dtype=torch.int32)), ValueError,
     r'sample index outside'),
    ('argmax shape', dict(argmax=torch.zeros(1, 1, 2, 3, dtype=torch.int32)), RuntimeError, 'same shape'),
    ('argmax int64', dict(argmax=torch.zeros(1, 1, 2, 2, dtype=torch.int64)), RuntimeError, 'int32'),
    ('grad channels', dict(grad=torch.ones(1, 2, 2, 2), argmax=torch.zeros(1, 2, 2, 2, dtype=torch.int32)),
     RuntimeError, 'channels'),
    ('grad RoIs', dict(grad=torch.ones(2, 1, 2, 2), argmax=torch.zeros(2, 1, 2, 2, dtype=torch.int32)),
     RuntimeError, 'RoIs'),
    ('grad dtype', dict(grad=torch.ones(1, 1, 2, 2, dtype=torch.float64)), RuntimeError, 'dtype of features'),
    ('batch index', dict(rois=torch.tensor([[3.0, 0, 0, 2, 2]])), ValueError, 'out of range'),
    ('sampling ratio', dict(ratio=0), ValueError, 'sampling_ratio'),
]


@pytest.mark.parametrize('name,override,error,message', BAD_BACKWARD_INPUTS,
                         ids=[b[0] for b in BAD_BACKWARD_INPUTS])
def test_backward_rejects_bad_input(name, override, error, message):
    with pytest.raises(error, match=message):
        OP_BACKWARD(*_backward_args(**override))


def test_python_wrappers_validate_arguments():
    with pytest.raises(ValueError, match='output_size'):
        RoIWarp((7, 0), 1 / 16)
    with pytest.raises(ValueError, match='spatial_scale'):
        RoIWarp(7, 0.0)
    for ratio in (0, 1.5, True):
        with pytest.raises(ValueError, match='sampling_ratio'):
            RoIWarp(7, 1 / 16, ratio)
    with pytest.raises(ValueError, match='output_size'):
        roi_warp(torch.zeros(1, 1, 4, 4), torch.zeros(0, 5), (1, 2, 3))
