// Input validation shared by every backend of faster_rcnn::roi_pool, run before any data pointer is
// touched, so that bad input is a Python exception and never an out-of-bounds access.
#pragma once
#include <ATen/ATen.h>

#include "roi_checks.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace faster_rcnn {

inline void check_roi_pool_args(const at::Tensor& features, const at::Tensor& rois,
                                double spatial_scale, int64_t pooled_height,
                                int64_t pooled_width) {
  TORCH_CHECK_VALUE(pooled_height > 0 && pooled_width > 0,
                    "roi_pool: output size must be positive, got (", pooled_height, ", ",
                    pooled_width, ")");
  TORCH_CHECK_VALUE(std::isfinite(spatial_scale) && spatial_scale > 0,
                    "roi_pool: spatial_scale must be a positive finite number, got ",
                    spatial_scale);
  TORCH_CHECK(features.dim() == 4, "roi_pool: features must be 4-D (N, C, H, W), got ",
              features.dim(), "-D of shape ", features.sizes());
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5,
              "roi_pool: rois must be of shape (K, 5) = (batch_index, x1, y1, x2, y2), got ",
              rois.sizes());
  TORCH_CHECK(features.scalar_type() == rois.scalar_type(),
              "roi_pool: features and rois must have the same dtype, got ",
              features.scalar_type(), " and ", rois.scalar_type());
  TORCH_CHECK(features.device() == rois.device(),
              "roi_pool: features and rois must be on the same device, got ", features.device(),
              " and ", rois.device());
  TORCH_CHECK(features.size(2) * features.size(3) <= std::numeric_limits<int32_t>::max(),
              "roi_pool: feature map of ", features.size(2), " x ", features.size(3),
              " cells is too large for int32 argmax indices");
}

inline void check_roi_pool_backward_args(const at::Tensor& grad_output, const at::Tensor& argmax,
                                         const at::Tensor& rois, int64_t batch_size,
                                         int64_t channels, int64_t height, int64_t width) {
  TORCH_CHECK(grad_output.dim() == 4 && grad_output.sizes() == argmax.sizes(),
              "roi_pool_backward: grad_output ", grad_output.sizes(),
              " and argmax ", argmax.sizes(), " must be 4-D of the same shape");
  TORCH_CHECK(argmax.scalar_type() == at::kInt, "roi_pool_backward: argmax must be int32");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5 && rois.size(0) == grad_output.size(0),
              "roi_pool_backward: rois must be (K, 5) with K = ", grad_output.size(0));
  TORCH_CHECK(grad_output.size(1) == channels, "roi_pool_backward: grad_output has ",
              grad_output.size(1), " channels, expected ", channels);
  TORCH_CHECK(batch_size >= 0 && height >= 0 && width >= 0,
              "roi_pool_backward: negative input size");
  TORCH_CHECK(grad_output.device() == argmax.device() && grad_output.device() == rois.device(),
              "roi_pool_backward: all tensors must be on the same device");
}

}  // namespace faster_rcnn
