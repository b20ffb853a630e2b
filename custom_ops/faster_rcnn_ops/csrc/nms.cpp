// Schema of greedy non-maximum suppression as py-faster-rcnn uses it (lib/nms: suppress a box whose
// IoU with a kept, higher-scoring box exceeds the threshold; areas with +offset), with an early
// stop once `max_output` boxes are kept: the kept boxes are then exactly the first `max_output` of
// the full NMS, at a fraction of its O(kept x N) cost (the RPN keeps 300 of 6000 at test time).
// Kernels: cpu/nms_kernel.cpp and cuda/nms_kernel.cu (same decisions, bit for bit); the fake kernel
// is registered from Python (faster_rcnn_ops/nms.py); the namespace is defined in ops.cpp.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(faster_rcnn, m) {
  // Returns the indices of the kept boxes (int64), in decreasing score order.
  m.def("nms(Tensor boxes, Tensor scores, float iou_threshold, int offset, int max_output) -> Tensor");
}
