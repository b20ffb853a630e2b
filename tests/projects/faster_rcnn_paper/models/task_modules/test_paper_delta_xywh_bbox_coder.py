"""PaperDeltaXYWHBBoxCoder is py-faster-rcnn's bbox_transform / bbox_transform_inv / clip_boxes."""
import numpy as np
import pytest
import torch

import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import TASK_UTILS
from tests.py_faster_rcnn_reference import bbox_transform, bbox_transform_inv, clip_boxes


def coder(**kwargs):
    return TASK_UTILS.build(dict(type='PaperDeltaXYWHBBoxCoder', **kwargs))


def test_hand_written_values():
    c = coder()
    # Zero deltas on (0, 0, 15, 15) give (0, 0, 16, 16): py-faster-rcnn's decode is 1 px wider.
    out = c.decode(torch.tensor([[0., 0., 15., 15.]]), torch.zeros(1, 4))
    assert out.tolist() == [[0., 0., 16., 16.]]
    # Encode then decode gt [10, 20, 50, 80] from another box: [10, 20, 51, 81].
    anchor = torch.tensor([[0., 0., 31., 63.]])
    gt = torch.tensor([[10., 20., 50., 80.]])
    deltas = c.encode(anchor, gt)
    # w = 32, h = 64, cx = 16, cy = 32; gt w = 41, h = 61, cx = 30.5, cy = 50.5
    torch.testing.assert_close(deltas, torch.tensor([[14.5 / 32, 18.5 / 64, np.log(41 / 32), np.log(61 / 64)]],
                                                    dtype=torch.float32))
    torch.testing.assert_close(c.decode(anchor, deltas), torch.tensor([[10., 20., 51., 81.]]))
    # Clip to [0, W - 1] x [0, H - 1].
    clipped = c.decode(torch.tensor([[-20., -5., 90., 40.]]), torch.zeros(1, 4), max_shape=(30, 50))
    assert clipped.tolist() == [[0., 0., 49., 29.]]


def test_normalised_targets():
    c = coder(target_stds=(0.1, 0.1, 0.2, 0.2))
    boxes = torch.tensor([[0., 0., 31., 63.]])
    gt = torch.tensor([[10., 20., 50., 80.]])
    raw = coder().encode(boxes, gt)
    torch.testing.assert_close(c.encode(boxes, gt), raw / torch.tensor([0.1, 0.1, 0.2, 0.2]))
    torch.testing.assert_close(c.decode(boxes, c.encode(boxes, gt)), coder().decode(boxes, raw))


@pytest.mark.parametrize('seed', range(5))
def test_matches_py_faster_rcnn_on_random_boxes(seed):
    rng = np.random.default_rng(seed)
    n = 500
    xy = rng.uniform(-50, 400, size=(n, 2))
    wh = rng.uniform(1, 300, size=(n, 2))
    boxes = np.hstack([xy, xy + wh]).astype(np.float32)
    gxy = rng.uniform(0, 400, size=(n, 2))
    gt = np.hstack([gxy, gxy + rng.uniform(1, 200, size=(n, 2))]).astype(np.float32)
    c = coder()
    torch.testing.assert_close(c.encode(torch.from_numpy(boxes), torch.from_numpy(gt)),
                               torch.from_numpy(bbox_transform(boxes, gt).astype(np.float32)),
                               rtol=1e-5, atol=1e-5)
    # Class-specific deltas (n, 4k), as the Fast R-CNN head decodes them.
    deltas = rng.normal(0, 0.5, size=(n, 12)).astype(np.float32)
    ref = clip_boxes(bbox_transform_inv(boxes, deltas), (300, 350))
    out = c.decode(torch.from_numpy(boxes), torch.from_numpy(deltas), max_shape=(300, 350))
    assert out.shape == (n, 12)
    torch.testing.assert_close(out, torch.from_numpy(ref), rtol=0, atol=1e-3)


def test_huge_deltas_stay_finite_and_clip_like_py_faster_rcnn():
    c = coder()
    boxes = torch.tensor([[100., 100., 199., 149.]] * 3)
    deltas = torch.tensor([[0., 0., 200., 1e4], [0., 0., 60., 0.], [0.1, 0., 89., 89.]])
    free = c.decode(boxes, deltas)
    assert torch.isfinite(free).all()
    clipped = c.decode(boxes, deltas, max_shape=(480, 640))
    with np.errstate(over='ignore'):
        ref = clip_boxes(bbox_transform_inv(boxes.numpy(), deltas.numpy()), (480, 640))
    torch.testing.assert_close(clipped, torch.from_numpy(ref))


def test_gradient_flows_through_decode():
    """Non-approximate joint training differentiates the decoded proposals."""
    deltas = torch.zeros(2, 4, requires_grad=True)
    out = coder().decode(torch.tensor([[0., 0., 15., 15.], [5., 5., 30., 40.]]), deltas, max_shape=(100, 100))
    out.sum().backward()
    assert deltas.grad is not None and deltas.grad.abs().sum() > 0


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match='decode needs'):
        coder().decode(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match='encode needs'):
        coder().encode(torch.zeros(2, 4), torch.zeros(3, 4))
