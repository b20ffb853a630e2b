"""faster_rcnn_ops.nms: py-faster-rcnn's greedy NMS (IoU > threshold, +offset areas), early stop."""
import pytest
import torch
from mmcv.ops import nms as mmcv_nms
from torch.library import opcheck

from faster_rcnn_ops import nms

OP = torch.ops.faster_rcnn.nms


def reference_nms(boxes, scores, thr, offset):
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep = []
    for i in order:
        ok = True
        for j in keep:
            w = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]) + offset
            h = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]) + offset
            inter = max(w, 0) * max(h, 0)
            area = lambda b: (b[2] - b[0] + offset) * (b[3] - b[1] + offset)  # noqa: E731
            if inter / (area(boxes[i]) + area(boxes[j]) - inter) > thr:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


def random_boxes(n, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 200
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 80 + 1
    return torch.cat([xy, xy + wh], 1).to(dtype), torch.rand(n, generator=g, dtype=torch.float64).to(dtype)


@pytest.mark.parametrize('offset', [0, 1])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_matches_reference_and_mmcv(offset, dtype):
    boxes, scores = random_boxes(300, seed=offset, dtype=dtype)
    keep = nms(boxes, scores, 0.5, offset)
    assert keep.tolist() == reference_nms(boxes.double(), scores, 0.5, offset)
    if dtype == torch.float32:
        assert torch.equal(keep, mmcv_nms(boxes, scores, 0.5, offset=offset)[1])


def test_degenerate_boxes_match_reference():
    """Zero-size boxes and boxes inverted by more than the offset (x2 < x1 - 1) among ordinary ones: the
    kernel's branch-free overlap test makes the reference's decisions (they never suppress or are
    suppressed through an overlap they do not have)."""
    boxes, scores = random_boxes(300, seed=5)
    inverted = torch.arange(300) % 5 == 0
    boxes[inverted] = boxes[inverted][:, [2, 3, 0, 1]] + torch.tensor([0.0, 0, -2, -2])
    boxes[1::7, 2:] = boxes[1::7, :2]  # zero width and height (area 1 at offset 1, 0 at offset 0)
    for offset in (0, 1):
        assert nms(boxes, scores, 0.3, offset).tolist() == reference_nms(boxes.double(), scores, 0.3, offset)


def test_early_stop_gives_the_first_kept_boxes():
    boxes, scores = random_boxes(500, seed=3)
    full = nms(boxes, scores, 0.7, 1)
    for max_output in (1, 10, len(full), len(full) + 5):
        assert torch.equal(nms(boxes, scores, 0.7, 1, max_output), full[:max_output])


def test_ties_suppression_is_strict_and_empty_input():
    boxes = torch.tensor([[0.0, 0, 9, 9], [0, 0, 9, 9], [0, 0, 9, 19]])
    scores = torch.tensor([0.5, 0.5, 0.4])
    # equal scores keep input order; IoU 0.5 is not > 0.5, so the third box survives
    assert nms(boxes, scores, 0.5, 1).tolist() == [0, 2]
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).shape == (0, )


def test_opcheck_and_bad_input():
    boxes, scores = random_boxes(50, seed=4)
    opcheck(OP, (boxes, scores, 0.6, 1, 10), test_utils=('test_schema', 'test_autograd_registration'))
    with pytest.raises(RuntimeError, match=r'boxes must be \(N, 4\)'):
        OP(torch.zeros(3, 5), torch.zeros(3), 0.5, 0, -1)
    with pytest.raises(RuntimeError, match='scores must be'):
        OP(torch.zeros(3, 4), torch.zeros(2), 0.5, 0, -1)
    with pytest.raises(ValueError, match='offset must be 0 or 1'):
        OP(torch.zeros(3, 4), torch.zeros(3), 0.5, 2, -1)
    with pytest.raises(RuntimeError, match='same dtype'):
        OP(torch.zeros(3, 4), torch.zeros(3, dtype=torch.float64), 0.5, 0, -1)
