"""PaperRPNHead's test-time ablations of the paper's Table 2: no NMS, no cls (random order), no reg
(anchors), and the number of proposals."""
import pytest
import torch
from mmengine.config import ConfigDict

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.utils import UserInputError
from mmdet.registry import MODELS


def build_head(scales=(8, 16, 32), ratios=(0.5, 1.0, 2.0), **test_cfg):
    cfg = dict(nms_pre=6000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7, offset=1),
               min_bbox_size=0)
    cfg.update(test_cfg)
    return MODELS.build(dict(
        type='PaperRPNHead', in_channels=8, feat_channels=8,
        anchor_generator=dict(type='PaperAnchorGenerator', strides=[16], ratios=list(ratios),
                              scales=list(scales)),
        bbox_coder=dict(type='LegacyDeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1 / 9, loss_weight=1.0),
        train_cfg=None, test_cfg=ConfigDict(cfg)))


def iou_plus_one(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return ix * iy / (area(a) + area(b) - ix * iy)


def max_pairwise_iou(boxes):
    boxes = boxes.tolist()
    return max(iou_plus_one(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def square_anchor_outputs(h=6, w=8, seed=0):
    """One 128x128 anchor per position (neighbours 16 px apart overlap with IoU ~0.78 > 0.7),
    random objectness, zero deltas (the decoded boxes are the anchors)."""
    torch.manual_seed(seed)
    cls = torch.randn(1, 2, h, w) * 3
    reg = torch.zeros(1, 4, h, w)
    meta = dict(img_shape=(h * 16 + 200, w * 16 + 200), scale_factor=(1.0, 1.0), img_id='000001')
    return cls, reg, meta


def propose(head, cls, reg, meta, **cfg):
    test_cfg = ConfigDict(dict(head.test_cfg, **cfg))
    (res, ) = head.predict_by_feat([cls], [reg], batch_img_metas=[meta], cfg=test_cfg)
    return res


def objectness(cls):
    return cls[0].permute(1, 2, 0).reshape(-1, 2).softmax(-1)[:, 0]


def test_no_nms_keeps_overlapping_boxes_in_objectness_order():
    head = build_head(scales=[8], ratios=[1.0])
    cls, reg, meta = square_anchor_outputs()
    with_nms = propose(head, cls, reg, meta, max_per_img=20)
    assert max_pairwise_iou(with_nms.bboxes) <= 0.7
    without = propose(head, cls, reg, meta, max_per_img=20, use_nms=False)
    assert len(without) == 20
    assert max_pairwise_iou(without.bboxes) > 0.7  # overlapping boxes survive
    # exactly the 20 best by objectness, best first
    expected = sorted(objectness(cls).tolist(), reverse=True)[:20]
    assert without.scores.tolist() == pytest.approx(expected, rel=1e-6)


def test_no_cls_random_order_is_seeded_and_not_objectness():
    head = build_head(scales=[8], ratios=[1.0])
    cls, reg, meta = square_anchor_outputs()
    n = 10
    by_score = propose(head, cls, reg, meta, max_per_img=n, use_nms=False)
    rand = propose(head, cls, reg, meta, max_per_img=n, use_nms=False, rank_by='random', random_seed=1)
    again = propose(head, cls, reg, meta, max_per_img=n, use_nms=False, rank_by='random', random_seed=1)
    other_seed = propose(head, cls, reg, meta, max_per_img=n, use_nms=False, rank_by='random', random_seed=2)
    other_image = propose(head, cls, reg, dict(meta, img_id='000002'), max_per_img=n, use_nms=False,
                          rank_by='random', random_seed=1)
    assert len(rand) == n
    torch.testing.assert_close(rand.bboxes, again.bboxes, rtol=0, atol=0)  # seeded
    as_set = lambda r: {tuple(b) for b in r.bboxes.tolist()}  # noqa: E731
    assert as_set(rand) != as_set(by_score)  # not the top-n by objectness
    assert as_set(rand) != as_set(other_seed) and as_set(rand) != as_set(other_image)
    # the objectness of the chosen boxes is not what orders them
    every = propose(head, cls, reg, meta, nms_pre=-1, max_per_img=-1, use_nms=False)
    objectness_of = dict(zip(map(tuple, every.bboxes.tolist()), every.scores.tolist()))
    assert len(objectness_of) == cls.shape[-2] * cls.shape[-1]
    chosen_obj = [objectness_of[tuple(b)] for b in rand.bboxes.tolist()]
    assert chosen_obj != sorted(chosen_obj, reverse=True)


def test_no_cls_without_a_cap_is_a_permutation_of_all_boxes():
    head = build_head(scales=[8], ratios=[1.0])
    cls, reg, meta = square_anchor_outputs(h=3, w=4)
    res = propose(head, cls, reg, meta, nms_pre=-1, max_per_img=-1, use_nms=False, rank_by='random')
    every = propose(head, cls, reg, meta, nms_pre=-1, max_per_img=-1, use_nms=False)
    assert len(every) == 12
    assert sorted(map(tuple, res.bboxes.tolist())) == sorted(map(tuple, every.bboxes.tolist()))
    assert res.bboxes.tolist() != every.bboxes.tolist()  # another order than objectness
    assert res.scores.tolist() == sorted(res.scores.tolist(), reverse=True)


def expected_clipped_anchors(h, w, img_h, img_w):
    """py-faster-rcnn's 128x128 anchor (scale 8, ratio 1: [-56, -56, 71, 71] on the 16-px base box
    [0, 0, 15, 15]) at every position (16 px apart, x fastest), clipped to [0, W-1] x [0, H-1]."""
    boxes = []
    for y in range(h):
        for x in range(w):
            x1, y1, x2, y2 = -56 + 16 * x, -56 + 16 * y, 71 + 16 * x, 71 + 16 * y
            boxes.append((min(max(x1, 0), img_w - 1), min(max(y1, 0), img_h - 1),
                          min(max(x2, 0), img_w - 1), min(max(y2, 0), img_h - 1)))
    return boxes


def test_no_reg_gives_the_clipped_anchors():
    head = build_head(scales=[8], ratios=[1.0])
    h, w, img_h, img_w = 4, 6, 100, 120
    torch.manual_seed(0)
    cls = torch.randn(1, 2, h, w)
    reg = torch.randn(1, 4, h, w)  # large deltas: they must be ignored
    meta = dict(img_shape=(img_h, img_w), scale_factor=(1.0, 1.0))
    expected = expected_clipped_anchors(h, w, img_h, img_w)
    assert len(set(expected)) > 10  # the clip does not collapse them all
    res = propose(head, cls, reg, meta, nms_pre=-1, max_per_img=-1, use_nms=False,
                  use_box_regression=False)
    assert sorted(map(tuple, res.bboxes.tolist())) == sorted(expected)
    with_reg = propose(head, cls, reg, meta, nms_pre=-1, max_per_img=-1, use_nms=False)
    assert sorted(map(tuple, with_reg.bboxes.tolist())) != sorted(expected)
    # with NMS (the paper's "no reg" rows), every proposal is still one of the clipped anchors
    res = propose(head, cls, reg, meta, max_per_img=5, use_box_regression=False)
    assert 0 < len(res) <= 5 and all(tuple(b) in set(expected) for b in res.bboxes.tolist())


@pytest.mark.parametrize('n', [1, 7, 30])
def test_number_of_proposals(n):
    head = build_head(scales=[8], ratios=[1.0])
    cls, reg, meta = square_anchor_outputs()
    assert len(propose(head, cls, reg, meta, max_per_img=n, use_nms=False)) == n
    assert len(propose(head, cls, reg, meta, max_per_img=n, use_nms=False, rank_by='random')) == n
    assert len(propose(head, cls, reg, meta, max_per_img=n, use_box_regression=False)) <= n


def test_unknown_rank_by_is_a_user_error():
    head = build_head()
    _, _, meta = square_anchor_outputs()
    with pytest.raises(UserInputError, match='rank_by'):
        propose(head, torch.zeros(1, 18, 6, 8), torch.zeros(1, 36, 6, 8), meta, rank_by='area')
