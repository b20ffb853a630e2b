import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.models.layers import CaffeDropout, paper_multiclass_nms
from mmdet.registry import MODELS
from tests.py_faster_rcnn_reference import im_detect_boxes, detections_of_test_net


def build(**kwargs):
    cfg = dict(type='FastRCNNBBoxHead', in_channels=16, roi_feat_size=7, fc_out_channels=64,
               num_classes=20)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_layers_and_outputs():
    torch.manual_seed(0)
    head = build()
    assert head.fc6.in_features == 16 * 49 and head.fc7.out_features == 64
    assert head.fc_cls.out_features == 21 and head.fc_reg.out_features == 80  # class-specific
    cls, reg = head(torch.randn(5, 16, 7, 7))
    assert cls.shape == (5, 21) and reg.shape == (5, 80)
    assert isinstance(head.drop6, torch.nn.Dropout) and head.drop6.p == 0.5


def test_paper_initialisation():
    torch.manual_seed(0)
    head = build(in_channels=64, fc_out_channels=1024)
    assert head.fc_cls.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert head.fc_reg.weight.std().item() == pytest.approx(0.001, rel=0.1)
    assert head.fc_cls.bias.abs().sum() == 0 and head.fc_reg.bias.abs().sum() == 0


def test_caffe_dropout_option_and_eval_determinism():
    head = build(caffe_dropout=True)
    assert isinstance(head.drop6, CaffeDropout) and not head.drop6.scale_train
    head.eval()
    x = torch.randn(3, 16, 7, 7)
    assert torch.equal(head(x)[0], head(x)[0])


def _im_detect_case(seed, num_rois=400, num_classes=20):
    rng = np.random.default_rng(seed)
    ori_shape = (int(rng.integers(200, 500)), int(rng.integers(200, 500)))
    scale = float(rng.uniform(1.0, 2.5))
    img_shape = (round(ori_shape[0] * scale), round(ori_shape[1] * scale))
    xy = rng.uniform(-20, max(img_shape) * 0.9, size=(num_rois, 2))
    rois = np.hstack([xy, xy + rng.uniform(8, 300, size=(num_rois, 2))]).astype(np.float32)
    rois = np.minimum(np.maximum(rois, 0), [img_shape[1] - 1, img_shape[0] - 1] * 2)
    logits = rng.normal(0, 2, size=(num_rois, num_classes + 1)).astype(np.float32)
    logits[:, -1] += 1.0  # background (mmdet: last) somewhat likelier
    deltas = rng.normal(0, 1.0, size=(num_rois, 4 * num_classes)).astype(np.float32)
    return ori_shape, img_shape, scale, rois, logits, deltas


@pytest.mark.parametrize('seed', range(6))
def test_prediction_matches_py_faster_rcnn_im_detect(seed):
    """Test-time post-processing against a transcription of py-faster-rcnn's im_detect + test_net:
    RoIs divided by the scale, deltas (un-normalised) applied in original coordinates, clipped to
    the original image, per class score > 0.05, NMS 0.3 (+1 areas), top 100 with ties."""
    stds = np.array([0.1, 0.1, 0.2, 0.2], np.float32)
    head = build(bbox_coder=dict(type='PaperDeltaXYWHBBoxCoder', target_stds=stds.tolist()))
    ori_shape, img_shape, scale, rois, logits, deltas = _im_detect_case(seed)
    cfg = ConfigDict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.3, offset=1), max_per_img=100)
    meta = dict(img_shape=img_shape, ori_shape=ori_shape, scale_factor=(scale, scale))
    roi_t = torch.cat([torch.zeros(len(rois), 1), torch.from_numpy(rois)], 1)
    (ours, ) = head.predict_by_feat((roi_t, ), (torch.from_numpy(logits), ), (torch.from_numpy(deltas), ),
                                    [meta], rcnn_test_cfg=cfg, rescale=True)
    # py-faster-rcnn's layout: background first; bbox_pred un-normalised in the snapshot.
    pfr_logits = np.concatenate([logits[:, -1:], logits[:, :-1]], 1)
    e = np.exp(pfr_logits - pfr_logits.max(1, keepdims=True))
    scores = e / e.sum(1, keepdims=True)
    box_deltas = np.concatenate([np.zeros((len(rois), 4), np.float32),
                                 deltas * np.tile(stds, deltas.shape[1] // 4)], 1)
    boxes = im_detect_boxes(rois, scale, box_deltas, ori_shape)
    ref = detections_of_test_net(scores, boxes, 21)
    assert sum(len(r) for r in ref) >= 100  # the cap is exercised
    assert len(ours) == sum(len(r) for r in ref)
    # One list sorted by score (mmdet's convention), not py-faster-rcnn's per-class arrays.
    assert torch.all(ours.scores[:-1] >= ours.scores[1:])
    for j in range(20):
        mine = ours.labels == j
        expected = ref[j + 1]
        assert int(mine.sum()) == len(expected), f'class {j}'
        np.testing.assert_allclose(ours.scores[mine].numpy(), expected[:, 4], rtol=0, atol=1e-6)
        np.testing.assert_allclose(ours.bboxes[mine].numpy(), expected[:, :4], rtol=0, atol=1e-3)


def test_per_image_cap_keeps_ties():
    """max_per_image keeps every detection scoring at least the 100th score (here: the 2nd)."""
    dets_boxes = torch.tensor([[0., 0., 10., 10.], [50., 50., 60., 60.], [100., 100., 110., 110.]])
    scores = torch.tensor([[0.9, 0.0, 0.1], [0.3, 0.0, 0.7], [0.0, 0.3, 0.7]])
    bboxes = dets_boxes.repeat(1, 2)
    dets, labels = paper_multiclass_nms(bboxes, scores, 0.05, dict(type='nms', iou_threshold=0.3, offset=1), 2)
    assert labels.tolist() == [0, 0, 1] and dets[:, 4].tolist() == pytest.approx([0.9, 0.3, 0.3])
    # strict score threshold: a score equal to it is dropped
    dets, _ = paper_multiclass_nms(bboxes, scores, 0.3, dict(type='nms', iou_threshold=0.3), 100)
    assert dets[:, 4].tolist() == pytest.approx([0.9])


def test_detections_are_sorted_by_score_across_classes():
    """py-faster-rcnn's per-class arrays would list class 0 (0.20, 0.14) before class 1 (0.97);
    the output is one list by descending score, equal scores in class order."""
    boxes = torch.tensor([[0., 0., 10., 10.], [50., 50., 60., 60.], [100., 100., 110., 110.],
                          [150., 150., 160., 160.]])
    scores = torch.tensor([[0.20, 0.00, 0.00, 0.80],   # class 0: 0.20
                           [0.14, 0.00, 0.00, 0.86],   # class 0: 0.14
                           [0.00, 0.97, 0.00, 0.03],   # class 1: 0.97
                           [0.00, 0.00, 0.14, 0.86]])  # class 2: 0.14 (ties class 0's second)
    dets, labels = paper_multiclass_nms(boxes.repeat(1, 3), scores, 0.05,
                                        dict(type='nms', iou_threshold=0.3, offset=1), 100)
    assert labels.tolist() == [1, 0, 0, 2]
    assert dets[:, 4].tolist() == pytest.approx([0.97, 0.20, 0.14, 0.14])
    assert dets[:, :4].tolist() == [boxes[2].tolist(), boxes[0].tolist(), boxes[1].tolist(), boxes[3].tolist()]
