// Input validation shared by every backend of faster_rcnn::nms, run before any data pointer is
// touched, so that bad input is a Python exception and never an out-of-bounds access.
#pragma once
#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>

namespace faster_rcnn {

inline void check_nms_args(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold,
                           int64_t offset) {
  TORCH_CHECK(boxes.dim() == 2 && boxes.size(1) == 4, "nms: boxes must be (N, 4), got ",
              boxes.sizes());
  TORCH_CHECK(scores.dim() == 1 && scores.size(0) == boxes.size(0),
              "nms: scores must be (N,) with N = ", boxes.size(0), ", got ", scores.sizes());
  TORCH_CHECK(boxes.scalar_type() == scores.scalar_type(),
              "nms: boxes and scores must have the same dtype, got ", boxes.scalar_type(), " and ",
              scores.scalar_type());
  TORCH_CHECK(boxes.scalar_type() == at::kFloat || boxes.scalar_type() == at::kDouble,
              "nms: float32 or float64 boxes expected, got ", boxes.scalar_type());
  TORCH_CHECK(boxes.device() == scores.device(), "nms: boxes and scores on different devices");
  TORCH_CHECK_VALUE(offset == 0 || offset == 1, "nms: offset must be 0 or 1, got ", offset);
  TORCH_CHECK_VALUE(std::isfinite(iou_threshold), "nms: iou_threshold must be finite");
}

}  // namespace faster_rcnn
