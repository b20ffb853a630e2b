import pytest
import torch

from faster_rcnn_paper.models.task_modules import LegacyBboxOverlaps2D


def test_plus_one_areas():
    iou = LegacyBboxOverlaps2D()
    a = torch.tensor([[0.0, 0, 9, 9]])  # 10 x 10 pixels
    b = torch.tensor([[5.0, 0, 14, 9], [10.0, 10, 20, 20], [0.0, 0, 9, 9]])
    # overlap 5 x 10 = 50, union 150 -> 1/3; touching-free box -> 0; identical -> 1
    assert iou(a, b)[0].tolist() == pytest.approx([1 / 3, 0.0, 1.0])
    # a single-pixel box overlapping itself has IoU 1 (mmdet's convention would give 0 / 0)
    p = torch.tensor([[3.0, 3, 3, 3]])
    assert iou(p, p).item() == pytest.approx(1.0)


def test_aligned_iof_and_scores_column():
    iou = LegacyBboxOverlaps2D()
    a = torch.tensor([[0.0, 0, 9, 9, 0.9], [0, 0, 3, 3, 0.5]])
    b = torch.tensor([[0.0, 0, 4, 9], [0, 0, 3, 3]])
    assert iou(a, b, is_aligned=True).tolist() == pytest.approx([0.5, 1.0])
    assert iou(a, b, mode='iof')[0].tolist() == pytest.approx([0.5, 0.16])
    with pytest.raises(ValueError, match='mode'):
        iou(a, b, mode='giou')
