"""PaperDetTTAModel: the unflipped view's sample is kept, flipped boxes are un-flipped in the
pipeline's convention, and the union is merged by the detector's per-class test NMS."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import nn

from faster_rcnn_paper.models import PaperDetTTAModel

W, H = 100, 50


class Detector(nn.Module):
    """Only what the TTA model reads of a detector: test_step and test_cfg.rcnn."""
    test_cfg = ConfigDict(rcnn=dict(nms=dict(type='nms', iou_threshold=0.3, offset=1), max_per_img=3))

    def test_step(self, data):
        raise AssertionError('not called by merge_preds')


def view(flip, boxes, scores, labels, gt):
    sample = DetDataSample(metainfo=dict(ori_shape=(H, W), img_shape=(H, W), flip=flip,
                                         flip_direction='horizontal' if flip else None))
    sample.pred_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                                         scores=torch.tensor(scores), labels=torch.tensor(labels))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([gt], dtype=torch.float32), labels=torch.tensor([0]))
    return sample


def test_merge_keeps_unflipped_gt_and_unflips_boxes_in_py_faster_rcnn_convention():
    model = PaperDetTTAModel(module=Detector(), flip_offset=1)
    assert model.tta_cfg.nms.iou_threshold == 0.3 and model.tta_cfg.max_per_img == 3  # from test_cfg.rcnn
    plain = view(False, [[10, 10, 29, 39]], [0.6], [0], gt=[10, 10, 29, 39])
    # The flipped view sees the object at x1' = W - 1 - 29 = 70, x2' = W - 1 - 10 = 89 (and a second
    # class-1 box). Flipped view first, as mmdet's default TTA pipeline orders them.
    flipped = view(True, [[70, 10, 89, 39], [0, 0, 9, 9]], [0.9, 0.5], [0, 1], gt=[70, 10, 89, 39])
    merged = model.merge_preds([[flipped, plain]])[0]
    assert merged is plain  # its gt (and meta) are what the metric evaluates against
    assert merged.gt_instances.bboxes.tolist() == [[10, 10, 29, 39]]
    pred = merged.pred_instances
    # Same class, identical boxes after the un-flip: NMS keeps the higher score once.
    assert pred.bboxes.tolist() == [[10, 10, 29, 39], [90, 0, 99, 9]]
    assert pred.scores.tolist() == pytest.approx([0.9, 0.5])
    assert pred.labels.tolist() == [0, 1]


def test_mmdet_flip_convention_and_per_class_nms_and_cap():
    model = PaperDetTTAModel(module=Detector(), flip_offset=0)
    plain = view(False, [[10, 10, 30, 40], [10, 10, 30, 40]], [0.8, 0.7], [0, 1], gt=[10, 10, 30, 40])
    flipped = view(True, [[70, 10, 90, 40], [70, 10, 90, 40], [0, 0, 10, 10]], [0.6, 0.95, 0.4], [0, 1, 2],
                   gt=[70, 10, 90, 40])
    merged = model.merge_preds([[plain, flipped]])[0]
    assert merged is plain
    pred = merged.pred_instances
    # x' = W - x: (70, 90) -> (10, 30). One box per class survives, the cap (max_per_img 3) holds.
    assert len(pred) == 3
    by_label = dict(zip(pred.labels.tolist(), pred.scores.tolist()))
    assert by_label == {0: pytest.approx(0.8), 1: pytest.approx(0.95), 2: pytest.approx(0.4)}
    assert pred.bboxes[pred.labels == 2].tolist() == [[90, 0, 100, 10]]
    assert pred.bboxes[pred.labels == 1].tolist() == [[10, 10, 30, 40]]


def test_refuses_without_an_unflipped_view_or_with_a_bad_offset():
    model = PaperDetTTAModel(module=Detector())
    flipped = view(True, [[0, 0, 9, 9]], [0.5], [0], gt=[0, 0, 9, 9])
    with pytest.raises(ValueError, match='no unflipped view'):
        model.merge_preds([[flipped]])
    with pytest.raises(ValueError, match='flip_offset'):
        PaperDetTTAModel(module=Detector(), flip_offset=2)
