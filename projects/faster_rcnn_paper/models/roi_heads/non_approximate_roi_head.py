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
"""
from typing import List, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from torch import Tensor


@MODELS.register_module()
class NonApproximateRoIHead(StandardRoIHead):

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        rois = bbox2roi([res.priors for res in sampling_results])  # keeps the graph to the RPN
        bbox_results = self._bbox_forward(x, rois)
        for res in sampling_results:  # labels and regression targets from constant boxes
            res.pos_priors = res.pos_priors.detach()
            res.neg_priors = res.neg_priors.detach()
        bbox_loss_and_target = self.bbox_head.loss_and_target(
            cls_score=bbox_results['cls_score'], bbox_pred=bbox_results['bbox_pred'],
            rois=rois.detach(), sampling_results=sampling_results, rcnn_train_cfg=self.train_cfg)
        bbox_results.update(loss_bbox=bbox_loss_and_target['loss_bbox'])
        return bbox_results
