"""FLOP counts of our compiled ops for MMEngine's complexity analysis (``mmengine.analysis``, used by
MMDetection's ``tools/analysis_tools/get_flops.py``).

MMEngine's ``FlopAnalyzer`` traces the model and counts each op with a handle from its table of
supported ops; any other op is reported as unsupported and counted as 0. Importing the plugin adds
handles for ``torch.ops.faster_rcnn.*`` (the ops are traced from their shapes only; the numbers of
cells per RoI bin and of boxes NMS keeps depend on the data, so the counts below are the ones the
shapes fix). As in MMEngine, one FLOP is one multiply-add (a max or a comparison counts as one):

* ``faster_rcnn::roi_pool`` (Caffe RoI max pooling): one per output element, K·C·PH·PW — the
  shape-fixed part; each bin's max reads as many cells as the bin covers, which the boxes decide
  (mmengine counts ``max_pool2d`` not at all);
* ``faster_rcnn::roi_warp`` (bilinear RoI warping): 4 per bilinear sample, r² samples per output
  element: 4·r²·K·C·PH·PW (MMEngine counts ``grid_sampler`` as 4 per output element);
* ``faster_rcnn::nms`` (greedy NMS that stops after ``max_output`` kept boxes): one per IoU it can
  compute at most, min(N, max_output)·N for N boxes (N·N when uncapped).
"""
from math import prod
from typing import Any, List

from mmengine.analysis.jit_handles import get_shape

from .mmengine_private import add_flop_handles


def roi_pool_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    return prod(get_shape(outputs[0]))


def roi_warp_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    sampling_ratio = inputs[5].toIValue()
    return 4 * sampling_ratio * sampling_ratio * prod(get_shape(outputs[0]))


def nms_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    num_boxes = get_shape(inputs[0])[0]
    max_output = inputs[4].toIValue()
    kept = num_boxes if max_output is None or max_output < 0 else min(num_boxes, max_output)
    return kept * num_boxes


FLOP_HANDLES = {
    'faster_rcnn::roi_pool': roi_pool_flop_jit,
    'faster_rcnn::roi_warp': roi_warp_flop_jit,
    'faster_rcnn::nms': nms_flop_jit,
}


def register_flop_handles() -> None:
    """Add the handles to the table every ``FlopAnalyzer`` starts from."""
    add_flop_handles(FLOP_HANDLES)
