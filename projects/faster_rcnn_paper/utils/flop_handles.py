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

``get_model_complexity_info`` also counts activations (``ActivationAnalyzer``: the outputs of
convolutions and matrix products only; pooling and NMS are on MMEngine's list of ops it ignores
without a warning). Our ops are added to that list too, so neither counter warns
``Unsupported operator faster_rcnn::roi_pool`` (the FLOP counter uses the handles above, which
come first). The ZF backbone's within-channel LRN (a 3 x 3 mean of squares and a power per
element: pooling and element-wise work, which MMEngine does not count) is traced as our compiled
op on CPU and as a Python op elsewhere, which that list cannot hold: both counters get a handle for
each name that counts 0.
"""
from math import prod
from typing import Any, List, Sequence

from mmengine.analysis.jit_handles import get_shape

from .mmengine_private import add_activation_handles, add_flop_handles, ignore_ops


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


def not_counted(inputs: List[Any], outputs: List[Any]) -> int:
    """0: work MMEngine does not count (pooling, element-wise), handled so that it is not warned about."""
    return 0


FLOP_HANDLES = {
    'faster_rcnn::roi_pool': roi_pool_flop_jit,
    'faster_rcnn::roi_warp': roi_warp_flop_jit,
    'faster_rcnn::nms': nms_flop_jit,
}


def register_flop_handles(not_counted_ops: Sequence[str] = ()) -> None:
    """Adds the handles to the table every ``FlopAnalyzer`` starts from, the ops to the ones every
    analyzer skips without a warning where it has no handle for them, and a zero count for each of
    ``not_counted_ops`` (traced names, e.g. the LRN's ``prim::PythonOp.<Function>``) to the FLOP and
    the activation tables."""
    add_flop_handles(FLOP_HANDLES)
    ignore_ops(FLOP_HANDLES)
    zero = {name: not_counted for name in not_counted_ops}
    add_flop_handles(zero)
    add_activation_handles(zero)
