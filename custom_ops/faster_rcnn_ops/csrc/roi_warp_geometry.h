// Geometry of the RoI warping layer (Dai et al., "Instance-aware Semantic Segmentation via Multi-task
// Network Cascades", CVPR 2016, §3.2), the RoI pooling that Faster R-CNN §3.2 names for
// "non-approximate joint training": it is differentiable w.r.t. the box coordinates. Shared by the
// CPU and CUDA kernels (and mirrored by tests/custom_ops/roi_warp_reference.py) so that all compute
// the same points in the same order of floating-point operations (in the input's dtype T).
//
// A RoI (b, x1, y1, x2, y2) has py-faster-rcnn's inclusive pixel corners: it covers the continuous
// image interval [x1, x2 + 1] x [y1, y2 + 1]. With s = spatial_scale, on the feature map:
//
//   X1 = clamp(x1 * s),  X2 = clamp((x2 + 1) * s)        (likewise Y1, Y2)
//   bin_w = (X2 - X1) / out_w                            (zero or negative for degenerate boxes:
//                                                          nothing divides by it, nothing clamps it)
//   sample (iy, ix) in [0, r)^2 of bin (ph, pw), r = sampling_ratio:
//     off_x = pw + (ix + 0.5) / r,    px = X1 + off_x * bin_w        (likewise py with ph, iy)
//
// The value at a continuous point (px, py) interpolates the cell centres bilinearly: cell (h, w) is
// centred at (w + 0.5, h + 0.5), and cells outside the map count as 0 (zero padding):
//
//   u = px - 0.5,  x0 = floor(u),  lx = u - x0,  hx = 1 - lx      (likewise v, y0, ly, hy)
//   f(py, px) = hy * (hx * F[y0][x0] + lx * F[y0][x0+1]) + ly * (hx * F[y0+1][x0] + lx * F[y0+1][x0+1])
//
// (in that order of operations). The output of bin (ph, pw) is the maximum of f over its r^2
// samples and argmax = iy * r + ix of the first maximum in sample order; NaN samples lose to any
// number (a bin whose samples are all NaN gives NaN with argmax 0).
//
// Derivatives. f is piecewise bilinear in (u, v); at a kink (u or v an integer: a cell centre or
// the zero border) the formulas above pick the piece to the right (lx = 0 or ly = 0), i.e. the
// one-sided derivative from above:
//
//   df/du = hy * (F[y0][x0+1] - F[y0][x0]) + ly * (F[y0+1][x0+1] - F[y0+1][x0])
//   df/dv = hx * (F[y0+1][x0] - F[y0][x0]) + lx * (F[y0+1][x0+1] - F[y0][x0+1])
//   px = (1 - tx) * X1 + tx * X2  with  tx = off_x / out_w, so
//   d out/d x1 = df/du * (1 - tx) * dX1/dx1,   d out/d x2 = df/du * tx * dX2/dx2   (y likewise)
//
// through the winning sample only, where dX/dx = s, or 0 where the clamp is active. The batch index
// gets no gradient. Every quantity is a product of finite numbers, so gradients are finite for
// zero-size, inverted, out-of-map and huge boxes.
//
// Beyond the definition: a NaN coordinate makes the whole RoI invalid (output 0, argmax -1, no
// gradient at all); +-inf and huge coordinates are clamped to +-kCoordLimit feature cells (as in
// roi_pool_geometry.h), so floor() of any sample fits an int64 and X2 - X1 is finite.
#pragma once
#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>

#include "roi_pool_geometry.h"  // kCoordLimit

namespace faster_rcnn {

template <typename T>
struct WarpBox {
  bool valid;  // false when a coordinate is NaN
  T x1, y1;    // box start on the feature map: clamp(x1 * s)
  T x2, y2;    // box end on the feature map: clamp((x2 + 1) * s)
  T dx1, dy1;  // d(map coordinate) / d(image coordinate): s, or 0 where clamped
  T dx2, dy2;
};

// clamp(v) to [-kCoordLimit, kCoordLimit]; *derivative = scale inside, 0 where the clamp is active.
template <typename T>
C10_HOST_DEVICE inline T clamp_map_coord(T v, T scale, T* derivative) {
  const T limit = static_cast<T>(kCoordLimit);
  if (v > -limit && v < limit) {
    *derivative = scale;
    return v;
  }
  *derivative = T(0);
  return v < T(0) ? -limit : limit;
}

// roi points at (batch_index, x1, y1, x2, y2) in input-image pixels.
template <typename T>
C10_HOST_DEVICE inline WarpBox<T> warp_box(const T* roi, T scale) {
  WarpBox<T> b;
  const T sx1 = roi[1] * scale, sy1 = roi[2] * scale;
  const T sx2 = (roi[3] + T(1)) * scale, sy2 = (roi[4] + T(1)) * scale;
  b.valid = sx1 == sx1 && sy1 == sy1 && sx2 == sx2 && sy2 == sy2;  // false for NaN
  if (!b.valid) {
    b.x1 = b.y1 = b.x2 = b.y2 = T(0);
    b.dx1 = b.dy1 = b.dx2 = b.dy2 = T(0);
    return b;
  }
  b.x1 = clamp_map_coord(sx1, scale, &b.dx1);
  b.y1 = clamp_map_coord(sy1, scale, &b.dy1);
  b.x2 = clamp_map_coord(sx2, scale, &b.dx2);
  b.y2 = clamp_map_coord(sy2, scale, &b.dy2);
  return b;
}

// Offset of sample i of bin p from the box start, in bins: p + (i + 0.5) / r.
template <typename T>
C10_HOST_DEVICE inline T sample_offset(int64_t p, int64_t i, int64_t r) {
  return static_cast<T>(p) + (static_cast<T>(i) + T(0.5)) / static_cast<T>(r);
}

// One axis of a sample: its interpolation cells, weights and the derivative of its position w.r.t.
// the box ends (position = (1 - t) * start + t * end).
template <typename T>
struct AxisSample {
  int64_t lo;  // floor(p - 0.5); the other cell is lo + 1
  T w_lo;      // 1 - frac: weight of cell lo
  T w_hi;      // frac: weight of cell lo + 1
  T t;         // d position / d end = off / bins (and 1 - t w.r.t. the start)
};

// Sample at offset `off` (see sample_offset) of a box [start, end] split into `bins` bins.
template <typename T>
C10_HOST_DEVICE inline AxisSample<T> axis_sample(T start, T end, int64_t bins, T off) {
  const T bin = (end - start) / static_cast<T>(bins);
  const T u = (start + off * bin) - T(0.5);
  const T cell = ::floor(u);
  AxisSample<T> a;
  a.lo = static_cast<int64_t>(cell);
  a.w_hi = u - cell;
  a.w_lo = T(1) - a.w_hi;
  a.t = off / static_cast<T>(bins);
  return a;
}

C10_HOST_DEVICE inline bool cell_inside(int64_t i, int64_t size) { return i >= 0 && i < size; }

// Bilinear value from the four neighbours f<row><col> (row 0 = y0, col 0 = x0), in the order
// of the definition above.
template <typename T>
C10_HOST_DEVICE inline T bilinear(const AxisSample<T>& ay, const AxisSample<T>& ax, T f00, T f01,
                                  T f10, T f11) {
  return ay.w_lo * (ax.w_lo * f00 + ax.w_hi * f01) + ay.w_hi * (ax.w_lo * f10 + ax.w_hi * f11);
}

// d f / d u (horizontal) and d f / d v (vertical) of the bilinear value above.
template <typename T>
C10_HOST_DEVICE inline T bilinear_du(const AxisSample<T>& ay, T f00, T f01, T f10, T f11) {
  return ay.w_lo * (f01 - f00) + ay.w_hi * (f11 - f10);
}

template <typename T>
C10_HOST_DEVICE inline T bilinear_dv(const AxisSample<T>& ax, T f00, T f01, T f10, T f11) {
  return ax.w_lo * (f10 - f00) + ax.w_hi * (f11 - f01);
}

}  // namespace faster_rcnn
