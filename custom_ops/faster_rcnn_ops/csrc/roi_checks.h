// Checks of the (K, 5) rois tensor shared by every RoI op (roi_pool, roi_warp) and backend: its
// batch indices must be integral and name an image of the batch, checked before any feature is read.
#pragma once
#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace faster_rcnn {

// Batch indices must be integral and name an image of the batch (tensor ops: for device backends;
// the CPU kernel checks each row while it reads the rois, see read_roi_batch_indices).
inline void check_roi_batch_indices(const char* op, const at::Tensor& rois, int64_t batch_size) {
  if (rois.size(0) == 0) return;
  const at::Tensor idx = rois.select(1, 0);
  const bool integral = idx.eq(idx.floor()).all().item<bool>();  // also false for NaN / inf
  TORCH_CHECK_VALUE(integral, op, ": rois[:, 0] must hold integral batch indices");
  const double lo = idx.min().item<double>();
  const double hi = idx.max().item<double>();
  TORCH_CHECK_VALUE(lo >= 0 && hi < static_cast<double>(batch_size), op,
                    ": batch index out of range: rois[:, 0] spans [", lo, ", ", hi,
                    "] but features hold ", batch_size, " image(s)");
}

// Reads rois[:, 0] (host memory, K rows of 5) as batch indices, checking each row.
template <typename T>
std::vector<int64_t> read_roi_batch_indices(const char* op, const T* rois, int64_t num_rois,
                                            int64_t batch_size) {
  std::vector<int64_t> batch(num_rois);
  for (int64_t k = 0; k < num_rois; ++k) {
    const T v = rois[k * 5];
    TORCH_CHECK_VALUE(std::isfinite(static_cast<double>(v)) && v == std::floor(v), op, ": rois[", k,
                      ", 0] = ", v, " is not an integral batch index");
    TORCH_CHECK_VALUE(v >= 0 && v < static_cast<T>(batch_size), op, ": rois[", k, ", 0] = ", v,
                      " is out of range for a batch of ", batch_size, " image(s)");
    batch[k] = static_cast<int64_t>(v);
  }
  return batch;
}

}  // namespace faster_rcnn
