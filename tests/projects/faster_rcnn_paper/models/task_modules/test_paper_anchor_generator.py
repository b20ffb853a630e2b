import math

import pytest
import torch
from mmdet.models.task_modules.prior_generators import AnchorGenerator, LegacyAnchorGenerator

from faster_rcnn_paper.models.task_modules import PaperAnchorGenerator

# py-faster-rcnn generate_anchors() output (checklist §2), written out by hand.
PAPER_ANCHORS = [[-84, -40, 99, 55], [-176, -88, 191, 103], [-360, -184, 375, 199],
                 [-56, -56, 71, 71], [-120, -120, 135, 135], [-248, -248, 263, 263],
                 [-36, -80, 51, 95], [-80, -168, 95, 183], [-168, -344, 183, 359]]


def independent_generate_anchors(base=16, ratios=(0.5, 1, 2), scales=(8, 16, 32)):
    """Re-derivation of py-faster-rcnn's two-step enumeration with Python's round (half to even)."""
    ctr = (base - 1) / 2
    out = []
    for r in ratios:
        w = round(math.sqrt(base * base / r))
        h = round(w * r)
        for s in scales:
            ws, hs = w * s, h * s
            out.append([ctr - (ws - 1) / 2, ctr - (hs - 1) / 2, ctr + (ws - 1) / 2, ctr + (hs - 1) / 2])
    return out


def make_generator(**kwargs):
    cfg = dict(strides=[16], ratios=[0.5, 1.0, 2.0], scales=[8, 16, 32])
    cfg.update(kwargs)
    return PaperAnchorGenerator(**cfg)


def test_base_anchors_equal_py_faster_rcnn():
    gen = make_generator()
    assert gen.num_base_priors == [9]
    assert gen.base_anchors[0].tolist() == PAPER_ANCHORS
    assert gen.base_anchors[0].tolist() == independent_generate_anchors()


def test_rounded_non_square_anchors():
    (base, ) = make_generator().base_anchors
    sizes = (base[:, 2:] - base[:, :2] + 1).tolist()  # inclusive widths
    assert sizes[0] == [184, 96] and sizes[6] == [88, 176]  # 1:2 and 2:1 are not transposes


def test_grid_shift_and_order():
    gen = make_generator()
    (anchors, ) = gen.grid_priors([(2, 3)], device='cpu')
    assert anchors.shape == (2 * 3 * 9, 4)
    base = torch.tensor(PAPER_ANCHORS, dtype=torch.float32)
    for y in range(2):
        for x in range(3):
            block = anchors[(y * 3 + x) * 9:(y * 3 + x + 1) * 9]  # (y, x, a) order, a fastest
            assert torch.equal(block, base + torch.tensor([16 * x, 16 * y, 16 * x, 16 * y]))


def test_mmdet_generators_differ_from_the_paper():
    paper = make_generator().base_anchors[0]
    for cls in (AnchorGenerator, LegacyAnchorGenerator):
        other = cls(strides=[16], ratios=[0.5, 1.0, 2.0], scales=[8, 16, 32]).base_anchors[0]
        assert not torch.allclose(other, paper), cls.__name__


def test_coco_scales_and_bad_centers():
    gen = make_generator(scales=[4, 8, 16, 32])
    assert gen.num_base_priors == [12]
    assert gen.base_anchors[0][4].tolist() == [-24, -24, 39, 39]  # 64x64, r = 1, scale 4
    with pytest.raises(ValueError, match='centers'):
        PaperAnchorGenerator(strides=[16], ratios=[1.0], scales=[8]).gen_single_level_base_anchors(
            16, torch.tensor([8.0]), torch.tensor([1.0]), center=(0, 0))
