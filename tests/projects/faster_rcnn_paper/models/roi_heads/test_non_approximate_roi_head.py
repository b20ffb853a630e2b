"""NonApproximateRoIHead: which sampled RoIs pass the detector's gradient to their box, and how much."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmdet.structures import DetDataSample

from .tiny_roi_head import tiny_roi_head


def head(**kwargs):
    torch.manual_seed(0)
    roi_head = tiny_roi_head(
        'NonApproximateRoIHead', roi_layer=dict(type='RoIWarp', output_size=3, sampling_ratio=2),
        # every proposal is sampled, no gt added: the RoIs are exactly the proposals
        sampler=dict(type='RandomSampler', num=64, pos_fraction=1.0, neg_pos_ub=-1,
                     add_gt_as_proposals=False), **kwargs)
    roi_head.init_weights()
    return roi_head


# proposals 0 and 1 overlap the gt (IoU >= 0.5: foreground), 2 and 3 do not (background)
PROPOSALS = torch.tensor([[12.0, 14, 62, 52], [8.0, 6, 58, 48], [70, 40, 120, 90], [2, 60, 40, 94]])


def box_grad(roi_head):
    feats = (torch.randn(1, 8, 7, 9, generator=torch.Generator().manual_seed(1)), )
    sample = DetDataSample(metainfo=dict(img_shape=(112, 144), ori_shape=(112, 144),
                                         scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 10, 60, 50]]), labels=torch.tensor([1]))
    boxes = PROPOSALS.clone().requires_grad_(True)
    losses = roi_head.loss(feats, [InstanceData(bboxes=boxes)], [sample])
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    return boxes.grad


def test_positives_pass_box_gradient_backgrounds_do_not():
    grad = box_grad(head(box_grad_from='positives'))
    assert grad[:2].abs().sum(1).gt(0).all()
    assert torch.equal(grad[2:], torch.zeros(2, 4))


def test_all_rois_pass_box_gradient_by_default():
    grad = box_grad(head())
    assert grad.abs().sum(1).gt(0).all()
    # the positives' share is the same
    assert torch.allclose(grad[:2], box_grad(head(box_grad_from='positives'))[:2])


def test_box_grad_scale_scales_only_the_box_gradient():
    full, scaled = box_grad(head(box_grad_scale=1.0)), box_grad(head(box_grad_scale=0.1))
    assert torch.allclose(scaled, 0.1 * full, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize('kwargs,match', [(dict(box_grad_from='negatives'), 'box_grad_from'),
                                          (dict(box_grad_scale=-1.0), 'box_grad_scale')])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        head(**kwargs)
