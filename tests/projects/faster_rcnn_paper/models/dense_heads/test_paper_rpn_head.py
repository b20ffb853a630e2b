"""PaperRPNHead: py-faster-rcnn's proposal layer order and size rule (proposal_layer.py)."""
import pytest
import torch
from mmengine.config import ConfigDict

import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import MODELS


def build_head(**test_cfg):
    cfg = dict(nms_pre=6000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7, offset=1),
               min_bbox_size=16)
    cfg.update(test_cfg)
    return MODELS.build(dict(
        type='PaperRPNHead', in_channels=8, feat_channels=8,
        anchor_generator=dict(type='PaperAnchorGenerator', strides=[16], ratios=[0.5, 1.0, 2.0],
                              scales=[8, 16, 32]),
        bbox_coder=dict(type='LegacyDeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1 / 9, loss_weight=1.0),
        train_cfg=None, test_cfg=ConfigDict(cfg)))


def iou_plus_one(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return ix * iy / (area(a) + area(b) - ix * iy)


def reference_proposals(head, cls_score, bbox_pred, img_shape, scale, cfg):
    """Independent py-faster-rcnn ProposalLayer: decode+clip, min size, sort, top-N, NMS, top-N."""
    (anchors, ) = head.prior_generator.grid_priors([cls_score.shape[-2:]], device='cpu')
    scores = cls_score[0].permute(1, 2, 0).reshape(-1, 2).softmax(-1)[:, 0].tolist()
    deltas = bbox_pred[0].permute(1, 2, 0).reshape(-1, 4)
    boxes = head.bbox_coder.decode(anchors, deltas, max_shape=img_shape).tolist()
    min_size = cfg['min_bbox_size'] * scale
    cand = [(s, b) for s, b in zip(scores, boxes)
            if b[2] - b[0] + 1 >= min_size and b[3] - b[1] + 1 >= min_size]
    cand.sort(key=lambda sb: -sb[0])
    cand = cand[:cfg['nms_pre']]
    kept = []
    for s, b in cand:
        if all(iou_plus_one(b, k) <= cfg['nms']['iou_threshold'] for _, k in kept):
            kept.append((s, b))
    return kept[:cfg['max_per_img']]


@pytest.mark.parametrize('scale,nms_pre', [(1.0, 6000), (2.0, 50), (0.5, 6000)])
def test_proposals_match_reference(scale, nms_pre):
    torch.manual_seed(0)
    head = build_head(nms_pre=nms_pre, max_per_img=40)
    head.init_weights()
    h, w = 9, 12
    feats = torch.randn(1, 8, h, w)
    cls_scores, bbox_preds = head((feats, ))
    cls_score, bbox_pred = cls_scores[0] * 20, bbox_preds[0] * 20  # spread scores and boxes
    img_shape = (h * 16, w * 16)
    meta = dict(img_shape=img_shape, scale_factor=(scale, scale))
    (res, ) = head.predict_by_feat([cls_score], [bbox_pred], batch_img_metas=[meta],
                                   cfg=head.test_cfg, rescale=False)
    ref = reference_proposals(head, cls_score.detach(), bbox_pred.detach(), img_shape, scale,
                              head.test_cfg)
    assert len(res) == len(ref) > 0
    assert res.scores.tolist() == pytest.approx([s for s, _ in ref], rel=1e-5)
    torch.testing.assert_close(res.bboxes, torch.tensor([b for _, b in ref]), rtol=1e-5, atol=1e-3)
    widths = res.bboxes[:, 2] - res.bboxes[:, 0] + 1
    assert (widths >= 16 * scale - 1e-4).all()
    assert (res.bboxes[:, 2] <= img_shape[1] - 1).all() and (res.labels == 0).all()


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


def rpn_losses(head, feats, metas, gt_boxes):
    """The head's training losses on ``feats`` for images ``metas`` with one gt box each."""
    from mmengine.structures import InstanceData
    cls_scores, bbox_preds = head((feats, ))
    gts = [InstanceData(bboxes=torch.tensor([box], dtype=torch.float32), labels=torch.tensor([0]))
           for box in gt_boxes]
    torch.manual_seed(0)  # the anchor sampler draws at random
    return head.loss_by_feat(cls_scores, bbox_preds, gts, metas)


def test_image_without_anchor_inside_gives_zero_rpn_loss_and_a_warning(tmp_path):
    """py-faster-rcnn's anchor_target_layer ignores every anchor of such an image; mmdet raises
    "There is no valid anchor inside the image boundary". A 1000 x 67 image (a 3000 x 200 VOC
    image at the paper's scale): the smallest paper anchor, 184 x 96, cannot fit."""
    import logging
    import os.path as osp
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from tests.tiny import REPO
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_zf_joint_voc.py'))
    head_cfg = cfg.model.rpn_head
    head_cfg.update(in_channels=8, feat_channels=8, train_cfg=cfg.model.train_cfg.rpn, test_cfg=None)
    head = MODELS.build(head_cfg)
    head.init_weights()
    torch.manual_seed(1)
    feats = torch.randn(2, 8, 38, 63)  # a padded batch: 600 x 1000
    batch = (600, 1000)
    normal = dict(img_shape=(600, 1000), pad_shape=batch, batch_input_shape=batch, img_path='normal.jpg')
    thin = dict(img_shape=(67, 1000), pad_shape=batch, batch_input_shape=batch, img_path='data/thin.jpg')

    messages = []

    class ListHandler(logging.Handler):  # MMLogger does not propagate to caplog

        def emit(self, record):
            messages.append(record.getMessage())

    logger, handler = MMLogger.get_current_instance(), ListHandler(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        alone = rpn_losses(head, feats[1:], [thin], [(10, 5, 200, 60)])
    finally:
        logger.removeHandler(handler)
    assert sum(alone['loss_rpn_cls']).item() == 0 and sum(alone['loss_rpn_bbox']).item() == 0
    assert any('data/thin.jpg' in m and 'no anchor lies inside' in m for m in messages), messages

    # Beside a normal image it changes nothing: the normal image's loss keeps its normalisation.
    only_normal = rpn_losses(head, feats[:1], [normal], [(100, 100, 400, 300)])
    both = rpn_losses(head, feats, [normal, thin], [(100, 100, 400, 300), (10, 5, 200, 60)])
    for key in ('loss_rpn_cls', 'loss_rpn_bbox'):
        assert sum(both[key]).item() == pytest.approx(sum(only_normal[key]).item(), rel=1e-6)
        assert sum(only_normal[key]).item() > 0
