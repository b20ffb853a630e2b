"""RoI head of non-approximate joint training (Faster R-CNN §3.2, option iii).

In approximate joint training the proposal boxes are constants: the detector's loss reaches the
RPN only through the shared features. Non-approximate training also differentiates the detector's
loss w.r.t. the proposal coordinates, which needs an RoI layer differentiable w.r.t. the box
(``RoIWarp``: bilinear sampling of the box region, then max pooling) and proposals that keep their
graph back to the RPN's regression output (:meth:`PaperRPNHead.proposals_with_grad`).

This head is mmdet's ``StandardRoIHead`` with one change in :meth:`bbox_loss`: the RoIs handed to
the RoI layer keep their graph, while the classification labels and box-regression *targets* are
computed from detached boxes — targets are constants, as in any supervised loss; the gradient to
the proposal flows only through the features the RoI layer samples from it.

The paper leaves option (iii) open ("beyond the scope of this paper"). The exact gradient of the
summed loss does not train on our demo data, so the head has two settings (measured in README,
"Training modes (§3.2), side by side"; the configs use ``box_grad_scale=0.1``):

* ``box_grad_scale`` multiplies the gradient that reaches the box coordinates (not the losses; 1 is
  exact, 0 is approximate joint training). Unscaled, the detector's gradient on the RPN's
  regression weights was 10–40× the RPN's own box-loss gradient in the first iterations (boxes are
  in pixels and the decode multiplies the deltas by the anchor size): ``loss_rpn_bbox`` climbed
  5–10×, the proposals drifted off the objects and the model reached mAP 0.003. At 0.1 the two
  gradients are of the same order and the mode trains.
* ``box_grad_from``: ``'all'`` sampled RoIs (exact) or only the foreground ``'positives'``. A
  background RoI (IoU in [0.1, 0.5) with a gt, i.e. next to an object) lowers its loss by sliding
  off the object, which through the shared regression conv pushes proposals away from objects;
  at ``box_grad_scale=0.1`` both choices train alike.
"""
from typing import List, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from torch import Tensor

BOX_GRAD_FROM = ('all', 'positives')


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """``x`` unchanged in value, its gradient multiplied by ``scale``."""
    return x if scale == 1.0 else x.detach() + scale * (x - x.detach())


@MODELS.register_module()
class NonApproximateRoIHead(StandardRoIHead):
    """``StandardRoIHead`` whose RoIs keep their graph to the proposals (see module docstring).

    Args:
        box_grad_from: which sampled RoIs pass the detector's gradient to their box coordinates,
            ``'all'`` or ``'positives'``.
        box_grad_scale: factor (>= 0) on that gradient; 1 is exact, 0 is approximate joint training.
    """

    def __init__(self, *args, box_grad_from: str = 'all', box_grad_scale: float = 1.0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if box_grad_from not in BOX_GRAD_FROM:
            raise ValueError(f'box_grad_from must be one of {BOX_GRAD_FROM}, got {box_grad_from!r}')
        if not box_grad_scale >= 0:
            raise ValueError(f'box_grad_scale must be >= 0, got {box_grad_scale!r}')
        self.box_grad_from = box_grad_from
        self.box_grad_scale = float(box_grad_scale)

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        if self.box_grad_from == 'positives':  # SamplingResult.priors is cat(pos, neg)
            priors = [torch.cat([res.pos_priors, res.neg_priors.detach()]) for res in sampling_results]
        else:
            priors = [res.priors for res in sampling_results]
        rois = bbox2roi([scale_grad(p, self.box_grad_scale) for p in priors])  # graph to the RPN
        bbox_results = self._bbox_forward(x, rois)
        for res in sampling_results:  # labels and regression targets from constant boxes
            res.pos_priors = res.pos_priors.detach()
            res.neg_priors = res.neg_priors.detach()
        bbox_loss_and_target = self.bbox_head.loss_and_target(
            cls_score=bbox_results['cls_score'], bbox_pred=bbox_results['bbox_pred'],
            rois=rois.detach(), sampling_results=sampling_results, rcnn_train_cfg=self.train_cfg)
        bbox_results.update(loss_bbox=bbox_loss_and_target['loss_bbox'])
        return bbox_results
