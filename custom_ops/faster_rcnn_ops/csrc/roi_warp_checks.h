// Input validation shared by every backend of faster_rcnn::roi_warp and roi_warp_backward, run
// before any data pointer is touched, so that bad input is a Python exception and never an
// out-of-bounds access.
#pragma once
#include <ATen/ATen.h>

#include "roi_checks.h"

#include <cmath>
#include <cstdint>

namespace faster_rcnn {

// The largest sampling ratio r whose r * r sample indices fit the int32 argmax.
constexpr int64_t kMaxSamplingRatio = 46340;

inline void check_roi_warp_params(const char* op, double spatial_scale, int64_t sampling_ratio) {
  TORCH_CHECK_VALUE(std::isfinite(spatial_scale) && spatial_scale > 0, op,
                    ": spatial_scale must be a positive finite number, got ", spatial_scale);
  TORCH_CHECK_VALUE(sampling_ratio > 0 && sampling_ratio <= kMaxSamplingRatio, op,
                    ": sampling_ratio must be in [1, ", kMaxSamplingRatio, "], got ", sampling_ratio);
}

inline void check_roi_warp_tensors(const char* op, const at::Tensor& features, const at::Tensor& rois) {
  TORCH_CHECK(features.dim() == 4, op, ": features must be 4-D (N, C, H, W), got ", features.dim(),
              "-D of shape ", features.sizes());
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, op,
              ": rois must be of shape (K, 5) = (batch_index, x1, y1, x2, y2), got ", rois.sizes());
  TORCH_CHECK(features.scalar_type() == rois.scalar_type(), op,
              ": features and rois must have the same dtype, got ", features.scalar_type(), " and ",
              rois.scalar_type());
  TORCH_CHECK(features.scalar_type() == at::kFloat || features.scalar_type() == at::kDouble, op,
              ": float32 and float64 are supported, got ", features.scalar_type());
  TORCH_CHECK(features.device() == rois.device(), op,
              ": features and rois must be on the same device, got ", features.device(), " and ",
              rois.device());
}

inline void check_roi_warp_args(const at::Tensor& features, const at::Tensor& rois,
                                double spatial_scale, int64_t out_h, int64_t out_w,
                                int64_t sampling_ratio) {
  TORCH_CHECK_VALUE(out_h > 0 && out_w > 0, "roi_warp: output size must be positive, got (", out_h,
                    ", ", out_w, ")");
  check_roi_warp_params("roi_warp", spatial_scale, sampling_ratio);
  check_roi_warp_tensors("roi_warp", features, rois);
}

inline void check_roi_warp_backward_args(const at::Tensor& grad_output, const at::Tensor& argmax,
                                         const at::Tensor& features, const at::Tensor& rois,
                                         double spatial_scale, int64_t sampling_ratio) {
  constexpr const char* op = "roi_warp_backward";
  check_roi_warp_params(op, spatial_scale, sampling_ratio);
  check_roi_warp_tensors(op, features, rois);
  TORCH_CHECK(grad_output.dim() == 4 && grad_output.sizes() == argmax.sizes(), op, ": grad_output ",
              grad_output.sizes(), " and argmax ", argmax.sizes(), " must be 4-D of the same shape");
  TORCH_CHECK(grad_output.size(0) == rois.size(0) && grad_output.size(1) == features.size(1), op,
              ": grad_output ", grad_output.sizes(), " must be (K, C, out_h, out_w) with K = ",
              rois.size(0), " RoIs and C = ", features.size(1), " channels");
  TORCH_CHECK(argmax.scalar_type() == at::kInt, op, ": argmax must be int32, got ",
              argmax.scalar_type());
  TORCH_CHECK(grad_output.scalar_type() == features.scalar_type(), op,
              ": grad_output must have the dtype of features, got ", grad_output.scalar_type(),
              " and ", features.scalar_type());
  TORCH_CHECK(grad_output.device() == features.device() && argmax.device() == features.device(), op,
              ": all tensors must be on the same device");
}

}  // namespace faster_rcnn
