"""py-faster-rcnn's box transform (``lib/fast_rcnn/bbox_transform.py``), the paper's eq. (2).

Boxes are 0-based inclusive ``[x1, y1, x2, y2]`` with ``w = x2 - x1 + 1`` and the centre
``x1 + 0.5 * w`` (half a pixel right of the true centre):

* ``encode`` = ``bbox_transform``: ``dx = (gcx - cx) / w``, ``dw = log(gw / w)`` (same for y / h);
* ``decode`` = ``bbox_transform_inv``: ``cx' = dx * w + cx``, ``w' = w * exp(dw)``, then
  ``[cx' - 0.5 w', cy' - 0.5 h', cx' + 0.5 w', cy' + 0.5 h']`` — *without* the ``- 1`` that would
  invert ``encode``, so zero deltas on ``(0, 0, 15, 15)`` give ``(0, 0, 16, 16)``: a decoded box is
  1 px wider and taller than the box it encodes. This is py-faster-rcnn's behaviour, reproduced on
  purpose (mmdet's ``LegacyDeltaXYWHBBoxCoder`` decodes around the true centre instead: every
  coordinate 0.5 px off, which reorders proposals after clipping and NMS);
* ``clip_boxes``: x to ``[0, W - 1]``, y to ``[0, H - 1]`` when ``max_shape`` is given.

Arithmetic is float32 in py-faster-rcnn's order of operations (it casts the boxes to the deltas'
dtype). Targets may be normalised by ``target_means`` / ``target_stds`` (Fast R-CNN's
``BBOX_NORMALIZE_MEANS/STDS``); decoding un-normalises first, as the snapshot's un-normalised
``bbox_pred`` does in py-faster-rcnn.

Huge ``dw`` / ``dh``: py-faster-rcnn does not clamp them, and ``exp`` overflows to ``inf`` for
``dw > ~88``; its clip then turns the box into the whole image width. Here ``dw`` and ``dh`` are
clamped to ``max_log_scale`` (default 50: a box ``e^50 ≈ 5e21`` times its source, still finite in
float32) so that no ``inf`` or ``NaN`` appears, also when no ``max_shape`` is given; after the clip
such a box is the same whole-image box as py-faster-rcnn's. Below that bound the result is
py-faster-rcnn's exactly (``wh_ratio_clip`` of mmdet's coders is accepted and ignored).
"""
from typing import Optional, Sequence, Union

import torch
from mmdet.registry import TASK_UTILS
from mmdet.models.task_modules.coders.base_bbox_coder import BaseBBoxCoder
from mmdet.structures.bbox import BaseBoxes, HorizontalBoxes, get_box_tensor
from torch import Tensor


@TASK_UTILS.register_module()
class PaperDeltaXYWHBBoxCoder(BaseBBoxCoder):
    """py-faster-rcnn's ``bbox_transform`` / ``bbox_transform_inv`` / ``clip_boxes``.

    Args:
        target_means / target_stds: normalisation of the deltas (RPN: none; Fast R-CNN end2end:
            stds (0.1, 0.1, 0.2, 0.2)).
        max_log_scale: upper clamp of ``dw`` / ``dh`` before ``exp`` (overflow guard, see module
            docstring); py-faster-rcnn's results are unchanged below it.
    """

    encode_size = 4

    def __init__(self, target_means: Sequence[float] = (0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1.), max_log_scale: float = 50.0,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.means = tuple(float(m) for m in target_means)
        self.stds = tuple(float(s) for s in target_stds)
        self.max_log_scale = float(max_log_scale)

    def encode(self, bboxes: Union[Tensor, BaseBoxes], gt_bboxes: Union[Tensor, BaseBoxes]) -> Tensor:
        """Deltas that move ``bboxes`` onto ``gt_bboxes`` (``bbox_transform``), normalised."""
        ex = get_box_tensor(bboxes)
        gt = get_box_tensor(gt_bboxes).to(ex.dtype)
        if ex.shape != gt.shape or ex.size(-1) != 4:
            raise ValueError(f'encode needs two (N, 4) box sets, got {tuple(ex.shape)} and {tuple(gt.shape)}')
        ex_w = ex[..., 2] - ex[..., 0] + 1.0
        ex_h = ex[..., 3] - ex[..., 1] + 1.0
        ex_cx = ex[..., 0] + 0.5 * ex_w
        ex_cy = ex[..., 1] + 0.5 * ex_h
        gt_w = gt[..., 2] - gt[..., 0] + 1.0
        gt_h = gt[..., 3] - gt[..., 1] + 1.0
        gt_cx = gt[..., 0] + 0.5 * gt_w
        gt_cy = gt[..., 1] + 0.5 * gt_h
        deltas = torch.stack([(gt_cx - ex_cx) / ex_w, (gt_cy - ex_cy) / ex_h,
                              torch.log(gt_w / ex_w), torch.log(gt_h / ex_h)], dim=-1)
        means = deltas.new_tensor(self.means)
        stds = deltas.new_tensor(self.stds)
        return (deltas - means) / stds

    def decode(self, bboxes: Union[Tensor, BaseBoxes], pred_bboxes: Tensor,
               max_shape: Optional[Union[Sequence[int], Tensor]] = None,
               wh_ratio_clip: Optional[float] = None) -> Union[Tensor, BaseBoxes]:
        """Boxes moved by ``pred_bboxes`` (``bbox_transform_inv``), clipped to ``max_shape``
        ``(H, W[, C])`` as ``clip_boxes``. ``pred_bboxes`` is ``(N, 4k)`` (k class-specific
        deltas per box); the result has its shape."""
        boxes = get_box_tensor(bboxes)
        if pred_bboxes.size(0) != boxes.size(0) or pred_bboxes.size(-1) % 4 != 0:
            raise ValueError(f'decode needs (N, 4k) deltas for N boxes, got {tuple(pred_bboxes.shape)} '
                             f'for {boxes.size(0)}')
        boxes = boxes.to(pred_bboxes.dtype)
        deltas = pred_bboxes.reshape(pred_bboxes.size(0), -1, 4)
        stds = deltas.new_tensor(self.stds)
        means = deltas.new_tensor(self.means)
        deltas = deltas * stds + means
        widths = (boxes[:, 2] - boxes[:, 0] + 1.0)[:, None]
        heights = (boxes[:, 3] - boxes[:, 1] + 1.0)[:, None]
        ctr_x = boxes[:, 0, None] + 0.5 * widths
        ctr_y = boxes[:, 1, None] + 0.5 * heights
        dx, dy = deltas[..., 0], deltas[..., 1]
        dw = deltas[..., 2].clamp(max=self.max_log_scale)
        dh = deltas[..., 3].clamp(max=self.max_log_scale)
        pred_ctr_x = dx * widths + ctr_x
        pred_ctr_y = dy * heights + ctr_y
        pred_w = torch.exp(dw) * widths
        pred_h = torch.exp(dh) * heights
        x1 = pred_ctr_x - 0.5 * pred_w
        y1 = pred_ctr_y - 0.5 * pred_h
        x2 = pred_ctr_x + 0.5 * pred_w
        y2 = pred_ctr_y + 0.5 * pred_h
        if max_shape is not None:
            height, width = float(max_shape[0]), float(max_shape[1])
            x1, x2 = x1.clamp(0, width - 1), x2.clamp(0, width - 1)
            y1, y2 = y1.clamp(0, height - 1), y2.clamp(0, height - 1)
        decoded = torch.stack([x1, y1, x2, y2], dim=-1).reshape(pred_bboxes.shape)
        if self.use_box_type:
            if decoded.size(-1) != 4:
                raise ValueError('use_box_type needs class-agnostic (N, 4) deltas')
            return HorizontalBoxes(decoded)
        return decoded
