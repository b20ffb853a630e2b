// Input validation of faster_rcnn::within_channel_lrn and its backward, run before any data pointer
// is touched, so that bad input is a Python exception and never an out-of-bounds access.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace faster_rcnn {

inline void check_within_channel_lrn_args(const char* op, const at::Tensor& input, int64_t size) {
  TORCH_CHECK_VALUE(size > 0 && size % 2 == 1, op, ": size must be a positive odd number, got ",
                    size);
  TORCH_CHECK(input.dim() == 4, op, ": input must be 4-D (N, C, H, W), got ", input.dim(),
              "-D of shape ", input.sizes());
  TORCH_CHECK(input.scalar_type() == at::kFloat || input.scalar_type() == at::kDouble, op,
              ": the CPU kernel supports float32 and float64, got ", input.scalar_type());
}

inline void check_within_channel_lrn_backward_args(const at::Tensor& grad_output,
                                                   const at::Tensor& input, int64_t size) {
  check_within_channel_lrn_args("within_channel_lrn_backward", input, size);
  TORCH_CHECK(grad_output.sizes() == input.sizes(), "within_channel_lrn_backward: grad_output ",
              grad_output.sizes(), " and input ", input.sizes(), " must have the same shape");
  TORCH_CHECK(grad_output.scalar_type() == input.scalar_type(),
              "within_channel_lrn_backward: grad_output and input must have the same dtype, got ",
              grad_output.scalar_type(), " and ", input.scalar_type());
  TORCH_CHECK(grad_output.device() == input.device(),
              "within_channel_lrn_backward: grad_output and input must be on the same device, got ",
              grad_output.device(), " and ", input.device());
}

}  // namespace faster_rcnn
