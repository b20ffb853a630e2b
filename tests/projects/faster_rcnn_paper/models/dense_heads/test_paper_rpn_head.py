"""PaperRPNHead: py-faster-rcnn's proposal layer (proposal_layer.py), against a NumPy transcription."""
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import MODELS
from tests.py_faster_rcnn_reference import proposal_layer


def build_head(**test_cfg):
    cfg = dict(nms_pre=6000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7, offset=1),
               min_bbox_size=16)
    cfg.update(test_cfg)
    return MODELS.build(dict(
        type='PaperRPNHead', in_channels=8, feat_channels=8,
        anchor_generator=dict(type='PaperAnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0],
                              scales=[8, 16, 32]),
        bbox_coder=dict(type='PaperDeltaXYWHBBoxCoder'),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1 / 9, loss_weight=1.0),
        train_cfg=None, test_cfg=ConfigDict(cfg)))


def pfr_inputs(cls_score, bbox_pred):
    """Our head's outputs in py-faster-rcnn's blob layout: rpn_cls_prob_reshape (1, 2A, H, W) with
    background in channels 0..A-1 and foreground in A..2A-1 (ours: channel 2a + c, c = 0 the
    foreground, mmdet's label order); the deltas' layout (channel 4a + k) is the same."""
    logits = cls_score.detach().numpy().astype(np.float32)
    num_anchors = logits.shape[1] // 2
    fg, bg = logits[:, 0::2], logits[:, 1::2]
    top = np.maximum(fg, bg)  # Caffe's Softmax subtracts the channel max
    e_fg, e_bg = np.exp(fg - top), np.exp(bg - top)
    prob = np.concatenate([e_bg / (e_fg + e_bg), e_fg / (e_fg + e_bg)], axis=1)
    assert prob.shape[1] == 2 * num_anchors
    return prob, bbox_pred.detach().numpy().astype(np.float32)


def assert_same_proposals(ours, ref_boxes, ref_scores, tol=1e-3):
    """Same boxes in the same order; inside a run of tied scores the order may differ."""
    assert len(ours) == len(ref_scores)
    boxes, scores = ours.bboxes.numpy(), ours.scores.numpy()
    np.testing.assert_allclose(scores, ref_scores, rtol=0, atol=1e-6)
    i = 0
    while i < len(scores):
        j = i + 1
        while j < len(scores) and ref_scores[j] == ref_scores[i]:
            j += 1
        if j - i == 1:
            np.testing.assert_allclose(boxes[i], ref_boxes[i], rtol=0, atol=tol)
        else:  # tied scores: the same boxes, in any order
            a = boxes[i:j][np.lexsort(boxes[i:j].T[::-1])]
            b = ref_boxes[i:j][np.lexsort(ref_boxes[i:j].T[::-1])]
            np.testing.assert_allclose(a, b, rtol=0, atol=tol)
        i = j


@pytest.mark.parametrize('phase', ['test', 'train'])
@pytest.mark.parametrize('seed', range(10))
def test_proposal_layer_matches_py_faster_rcnn(phase, seed):
    """PaperRPNHead against a NumPy transcription of py-faster-rcnn's ProposalLayer (anchors,
    bbox_transform_inv, clip, min size at the original scale, sort, top-N, NMS 0.7, top-N) on
    random scores and deltas whose boxes cross the image border."""
    pre, post = (6000, 300) if phase == 'test' else (12000, 2000)
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(20, 39)), int(rng.integers(30, 64))
    img_shape = (h * 16 - int(rng.integers(0, 16)), w * 16 - int(rng.integers(0, 16)))
    scale = float(rng.uniform(0.8, 2.5))
    head = build_head(nms_pre=pre, max_per_img=post)
    cls_score = torch.from_numpy(rng.normal(0, 2, size=(1, 18, h, w)).astype(np.float32))
    bbox_pred = torch.from_numpy(rng.normal(0, 0.6, size=(1, 36, h, w)).astype(np.float32))
    meta = dict(img_shape=img_shape, scale_factor=(scale, scale))
    (ours, ) = head.predict_by_feat([cls_score[0:1]], [bbox_pred[0:1]], batch_img_metas=[meta],
                                    cfg=head.test_cfg, rescale=False)
    prob, deltas = pfr_inputs(cls_score, bbox_pred)
    im_info = np.array([img_shape[0], img_shape[1], scale], np.float32)
    ref_boxes, ref_scores = proposal_layer(prob, deltas, im_info, pre, post, 0.7, 16)
    assert len(ref_scores) == min(post, len(ref_scores)) and len(ref_scores) > 100
    crossing = ((ref_boxes[:, 0] == 0) | (ref_boxes[:, 2] == img_shape[1] - 1)).sum()
    assert crossing > 0  # some proposals were clipped at the border
    assert_same_proposals(ours, ref_boxes, ref_scores)


def test_size_filter_comes_before_top_n():
    """py-faster-rcnn drops small boxes before taking the top nms_pre; mmdet does the reverse."""
    head = build_head(nms_pre=1, max_per_img=10)
    h, w = 4, 4
    cls = torch.zeros(1, 18, h, w)
    reg = torch.zeros(1, 36, h, w)
    # Anchor 3 (128x128) at (1, 1) gets the best score but deltas shrinking it to ~2 px.
    cls[0, 2 * 3, 1, 1] = 10.0
    reg[0, 4 * 3 + 2, 1, 1] = reg[0, 4 * 3 + 3, 1, 1] = -4.0
    meta = dict(img_shape=(200, 200), scale_factor=(1.0, 1.0))
    (res, ) = head.predict_by_feat([cls], [reg], batch_img_metas=[meta], cfg=head.test_cfg)
    assert len(res) == 1
    assert (res.bboxes[0, 2:] - res.bboxes[0, :2] + 1 >= 16).all()


def test_no_box_survives_and_rescale():
    head = build_head(min_bbox_size=10000)
    cls, reg = torch.zeros(1, 18, 2, 2), torch.zeros(1, 36, 2, 2)
    meta = dict(img_shape=(32, 32), scale_factor=(1.0, 1.0))
    (res, ) = head.predict_by_feat([cls], [reg], batch_img_metas=[meta], cfg=head.test_cfg)
    assert len(res) == 0 and res.bboxes.shape == (0, 4)
    head = build_head(min_bbox_size=0)
    meta = dict(img_shape=(64, 64), scale_factor=(2.0, 2.0))
    (res, ) = head.predict_by_feat([torch.zeros(1, 18, 4, 4)], [torch.zeros(1, 36, 4, 4)],
                                   batch_img_metas=[meta],
                                   cfg=head.test_cfg, rescale=True)
    assert res.bboxes.max() <= 31.5 + 1e-4  # clipped to 63 on the resized image, then halved
