"""Greedy NMS with py-faster-rcnn's conventions and an early stop (``torch.ops.faster_rcnn.nms``).

py-faster-rcnn (``lib/nms/nms_kernel.cu``) suppresses a box whose IoU with a kept, higher-scoring
box is greater than the threshold, with +1 in widths and heights (``offset=1``). Stopping once
``max_output`` boxes are kept gives exactly the first ``max_output`` boxes of the full NMS: the RPN
keeps 300 of 6000 candidates at test time, so most of the O(N²) comparisons are never needed.
Kernels: ``csrc/cpu/nms_kernel.cpp`` and ``csrc/cuda/nms_kernel.cu`` (the same kept boxes).
"""
import torch
from torch import Tensor


@torch.library.register_fake('faster_rcnn::nms')
def _nms_fake(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int, max_output: int) -> Tensor:
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise RuntimeError(f'nms: boxes must be (N, 4), got {tuple(boxes.shape)}')
    kept = torch.library.get_ctx().new_dynamic_size()
    return boxes.new_empty((kept, ), dtype=torch.long)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0,
        max_output: int = -1) -> Tensor:
    """Indices (int64, on the boxes' device) of the kept boxes, highest score first (ties in input
    order); ``max_output <= 0`` keeps all."""
    return torch.ops.faster_rcnn.nms(boxes, scores, float(iou_threshold), int(offset), int(max_output))
