// Geometry of Caffe's ROIPoolingLayer (caffe-fast-rcnn roi_pooling_layer.cpp/.cu, used by
// py-faster-rcnn), shared by the CPU and CUDA kernels so both compute the same bins:
//
//   start_w = round(x1 * spatial_scale), end_w = round(x2 * spatial_scale)   (half away from zero)
//   roi_w   = max(end_w - start_w + 1, 1),   bin_w = roi_w / pooled_w       (in the input's dtype)
//   bin pw covers columns [floor(pw * bin_w), ceil((pw + 1) * bin_w)) + start_w, clipped to [0, W]
//   (and the same for rows); an empty bin outputs 0 with argmax -1.
//
// Defined beyond Caffe (whose int casts are undefined there): a scaled coordinate that is NaN makes
// the whole RoI empty (all bins 0, argmax -1); +-inf and huge values are clamped to +-kCoordLimit
// feature cells before rounding, which changes nothing for any map smaller than kCoordLimit / pooled.
#pragma once
#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>

namespace faster_rcnn {

// 2^24 feature cells: far beyond any feature map, small enough that int64 arithmetic cannot overflow.
constexpr double kCoordLimit = 16777216.0;

template <typename T>
struct RoIBins {
  bool valid;        // false when a coordinate is NaN: every bin is empty
  int64_t start_h;   // rounded RoI start on the feature map
  int64_t start_w;
  T bin_h;           // bin size in feature cells
  T bin_w;
};

template <typename T>
C10_HOST_DEVICE inline int64_t round_roi_coord(T scaled) {
  const T limit = static_cast<T>(kCoordLimit);
  const T clamped = scaled < -limit ? -limit : (scaled > limit ? limit : scaled);
  return static_cast<int64_t>(::round(clamped));  // C round(): half away from zero, as Caffe
}

// roi points at (batch_index, x1, y1, x2, y2) in input-image coordinates.
template <typename T>
C10_HOST_DEVICE inline RoIBins<T> roi_bins(const T* roi, T spatial_scale, int64_t pooled_h,
                                           int64_t pooled_w) {
  RoIBins<T> b;
  const T x1 = roi[1] * spatial_scale, y1 = roi[2] * spatial_scale;
  const T x2 = roi[3] * spatial_scale, y2 = roi[4] * spatial_scale;
  b.valid = x1 == x1 && y1 == y1 && x2 == x2 && y2 == y2;  // false for NaN (host and device alike)
  if (!b.valid) {
    b.start_h = b.start_w = 0;
    b.bin_h = b.bin_w = T(0);
    return b;
  }
  b.start_w = round_roi_coord(x1);
  b.start_h = round_roi_coord(y1);
  const int64_t end_w = round_roi_coord(x2);
  const int64_t end_h = round_roi_coord(y2);
  const int64_t roi_w = end_w - b.start_w + 1 > 1 ? end_w - b.start_w + 1 : 1;  // malformed → 1x1
  const int64_t roi_h = end_h - b.start_h + 1 > 1 ? end_h - b.start_h + 1 : 1;
  b.bin_w = static_cast<T>(roi_w) / static_cast<T>(pooled_w);
  b.bin_h = static_cast<T>(roi_h) / static_cast<T>(pooled_h);
  return b;
}

C10_HOST_DEVICE inline int64_t clip_index(int64_t v, int64_t size) {
  return v < 0 ? 0 : (v > size ? size : v);
}

// First row (or column) of bin p, clipped to [0, size].
template <typename T>
C10_HOST_DEVICE inline int64_t bin_begin(int64_t p, T bin, int64_t start, int64_t size) {
  return clip_index(static_cast<int64_t>(::floor(static_cast<T>(p) * bin)) + start, size);
}

// One past the last row (or column) of bin p, clipped to [0, size].
template <typename T>
C10_HOST_DEVICE inline int64_t bin_end(int64_t p, T bin, int64_t start, int64_t size) {
  return clip_index(static_cast<int64_t>(::ceil(static_cast<T>(p + 1) * bin)) + start, size);
}

}  // namespace faster_rcnn
