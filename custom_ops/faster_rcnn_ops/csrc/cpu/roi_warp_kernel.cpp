// CPU kernels of faster_rcnn::roi_warp (MNC RoI warping, see roi_warp_geometry.h for the semantics).
//
// Forward. The map is first copied into a zero-padded, channel-blocked layout
// [N][C/16][H+2][W+2][16]: the 16 channels of a cell are contiguous, so one SIMD multiply-add
// interpolates 4 (float32) or 2 (float64) channels at once, and the one-cell zero border turns the
// zero padding of the definition into plain reads (a neighbour outside the map is a border cell; a
// sample whose neighbours are all outside reads border cells only), so the inner loop has no
// branches. A block's slice (40 x 65 x 64 bytes for VGG-16's 38 x 63 map) stays in the core's
// cache while the tasks (channel block, RoI), RoI fastest, sweep it. Sample positions and weights
// depend on one axis each, so they are tabulated once per call per RoI and axis.
//
// Backward. The work is split over fixed groups of channels, so no two threads write to the same
// feature-gradient plane (no atomics). For each channel and image, the task copies the feature
// plane into a zero-bordered (H+2) x (W+2) buffer and accumulates the gradient in another one, both
// in L1, then stores the gradient's interior: the same padded sample tables as the forward serve,
// again without branches (the gradient of cells outside the map lands in the discarded border).
// Each group also sums, per RoI, the coordinate gradients of its channels into its own slot (each
// channel's out_h * out_w terms in the input's dtype, the channels in double for float32); the
// slots are added in group order at the end, so the result does not depend on the number of
// threads.
#include <ATen/ATen.h>
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <vector>

#include "../roi_warp_checks.h"
#include "../roi_warp_geometry.h"
#include "simd.h"

namespace faster_rcnn {
namespace {

constexpr int64_t kChannelBlock = 16;  // forward: channels per block of the layout
constexpr int64_t kPassChannels = 8;   // forward: channels per pass over a bin's samples
constexpr int64_t kChannelGroup = 8;   // backward: channels per task

// One axis of a sample in a zero-padded layout: map cell c is padded cell c + 1, and cells 0 and
// size + 1 are zero. A sample with both neighbours outside the map uses the zero cell 0 twice.
template <typename T>
struct PaddedAxis {
  int64_t i0, i1;     // padded cells of the two neighbours
  AxisSample<T> s;    // weights and position derivative, as in the definition
};

template <typename T>
PaddedAxis<T> padded_axis(const AxisSample<T>& a, int64_t size) {
  const bool touches_map = a.lo >= -1 && a.lo < size;
  return {touches_map ? a.lo + 1 : 0, touches_map ? a.lo + 2 : 0, a};
}

// The sample geometry of every RoI, computed once per call: the axis samples of RoI k along x at
// (k * out_w + pw) * r + ix, along y at (k * out_h + ph) * r + iy.
template <typename T>
struct SampleTable {
  std::vector<WarpBox<T>> box;
  std::vector<PaddedAxis<T>> x, y;
};

template <typename T>
SampleTable<T> make_sample_table(const T* rois, int64_t K, T scale, int64_t H, int64_t W,
                                 int64_t out_h, int64_t out_w, int64_t r) {
  SampleTable<T> t;
  t.box.resize(K);
  t.x.resize(K * out_w * r);
  t.y.resize(K * out_h * r);
  for (int64_t k = 0; k < K; ++k) {
    const WarpBox<T> b = warp_box(rois + k * 5, scale);
    t.box[k] = b;
    for (int64_t p = 0; p < out_w; ++p) {
      for (int64_t i = 0; i < r; ++i) {
        t.x[(k * out_w + p) * r + i] =
            padded_axis(axis_sample(b.x1, b.x2, out_w, sample_offset<T>(p, i, r)), W);
      }
    }
    for (int64_t p = 0; p < out_h; ++p) {
      for (int64_t i = 0; i < r; ++i) {
        t.y[(k * out_h + p) * r + i] =
            padded_axis(axis_sample(b.y1, b.y2, out_h, sample_offset<T>(p, i, r)), H);
      }
    }
  }
  return t;
}

// Copies an NCHW map into [N][blocks][H+2][W+2][kChannelBlock] with a zero border, zero-filling the
// channels past C.
template <typename T>
void to_padded_channel_blocks(const T* src, int64_t N, int64_t C, int64_t H, int64_t W, T* dst) {
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t padded_w = W + 2;
  const int64_t slice = (H + 2) * padded_w * kChannelBlock;
  at::parallel_for(0, N * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t nb = begin; nb < end; ++nb) {
      const int64_t n = nb / blocks, c0 = (nb % blocks) * kChannelBlock;
      T* out = dst + nb * slice;
      std::memset(out, 0, sizeof(T) * slice);
      for (int64_t j = 0; j < kChannelBlock && c0 + j < C; ++j) {
        const T* in = src + (n * C + c0 + j) * H * W;
        for (int64_t h = 0; h < H; ++h) {
          T* row = out + ((h + 1) * padded_w + 1) * kChannelBlock + j;
          for (int64_t w = 0; w < W; ++w) row[w * kChannelBlock] = in[h * W + w];
        }
      }
    }
  });
}

// Max and first argmax over the r x r samples of one bin for kPassChannels channels of a block:
// `cells` points at the first of them in cell (0, 0) of the block's padded [H+2][W+2][kChannelBlock]
// slice, `ys` / `xs` are the bin's r samples per axis. Writes the maxima to out[0, kPassChannels)
// and their sample indices to out_arg. NaN samples lose to any number: the running best starts as
// NaN with index 0 and is replaced by a sample that is greater, or by any non-NaN sample while it
// is still NaN. (Eight channels per pass leave the running maxima, indices and weights in the 16
// SIMD registers of SSE2, where a whole 16-channel block spills some to the stack.)
template <typename T>
inline void warp_bin(const T* cells, int64_t row_stride, const PaddedAxis<T>* ys,
                     const PaddedAxis<T>* xs, int64_t r, T* out, typename Simd<T>::Index* out_arg) {
  using Vec = typename Simd<T>::Vec;
  using Mask = typename Simd<T>::Mask;
  using Index = typename Simd<T>::Index;
  constexpr int64_t kLanes = sizeof(Vec) / sizeof(T);
  constexpr int64_t kVecs = kPassChannels / kLanes;
  static_assert(kPassChannels % kLanes == 0, "pass width must be a multiple of the SIMD width");
  Vec best[kVecs];
  Mask arg[kVecs];
  for (int64_t i = 0; i < kVecs; ++i) {
    best[i] = Vec{} + std::numeric_limits<T>::quiet_NaN();
    arg[i] = Mask{};
  }
  for (int64_t iy = 0; iy < r; ++iy) {
    const PaddedAxis<T>& y = ys[iy];
    const T* row0 = cells + y.i0 * row_stride;
    const T* row1 = cells + y.i1 * row_stride;
    const Vec wy0 = Vec{} + y.s.w_lo, wy1 = Vec{} + y.s.w_hi;
    for (int64_t ix = 0; ix < r; ++ix) {
      const PaddedAxis<T>& x = xs[ix];
      const T* c00 = row0 + x.i0 * kChannelBlock;
      const T* c01 = row0 + x.i1 * kChannelBlock;
      const T* c10 = row1 + x.i0 * kChannelBlock;
      const T* c11 = row1 + x.i1 * kChannelBlock;
      const Vec wx0 = Vec{} + x.s.w_lo, wx1 = Vec{} + x.s.w_hi;
      const Mask index = Mask{} + static_cast<Index>(iy * r + ix);
      for (int64_t i = 0; i < kVecs; ++i) {
        Vec f00, f01, f10, f11;  // unaligned loads
        std::memcpy(&f00, c00 + i * kLanes, sizeof(Vec));
        std::memcpy(&f01, c01 + i * kLanes, sizeof(Vec));
        std::memcpy(&f10, c10 + i * kLanes, sizeof(Vec));
        std::memcpy(&f11, c11 + i * kLanes, sizeof(Vec));
        const Vec v = wy0 * (wx0 * f00 + wx1 * f01) + wy1 * (wx0 * f10 + wx1 * f11);
        const Mask take = (v > best[i]) | ((best[i] != best[i]) & (v == v));
        best[i] = take ? v : best[i];
        arg[i] = take ? index : arg[i];
      }
    }
  }
  for (int64_t i = 0; i < kVecs; ++i) {
    std::memcpy(out + i * kLanes, &best[i], sizeof(Vec));
    std::memcpy(out_arg + i * kLanes, &arg[i], sizeof(Mask));
  }
}

template <typename T>
void forward_kernel(const T* blocked, const std::vector<int64_t>& batch, const SampleTable<T>& table,
                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t PH, int64_t PW, int64_t r,
                    T* out, int32_t* argmax) {
  using Index = typename Simd<T>::Index;
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t bins = PH * PW;
  const int64_t row_stride = (W + 2) * kChannelBlock;
  const int64_t slice = (H + 2) * row_stride;
  at::parallel_for(0, blocks * K, 16, [&](int64_t begin, int64_t end) {
    // One task's results, [bin][channel of the block] (SIMD stores), transposed to the output's
    // [channel][bin] rows at the end of the task.
    std::vector<T> tile(bins * kChannelBlock);
    std::vector<Index> tile_arg(bins * kChannelBlock);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t k = task % K;
      const int64_t block = task / K;
      const int64_t c0 = block * kChannelBlock;
      const int64_t width = std::min(kChannelBlock, C - c0);
      T* out_k = out + (k * C + c0) * bins;
      int32_t* arg_k = argmax + (k * C + c0) * bins;
      if (!table.box[k].valid) {  // NaN coordinate: output 0, argmax -1
        std::fill(out_k, out_k + width * bins, T(0));
        std::fill(arg_k, arg_k + width * bins, -1);
        continue;
      }
      const T* cells = blocked + (batch[k] * blocks + block) * slice;
      const PaddedAxis<T>* xs_k = table.x.data() + k * PW * r;
      const PaddedAxis<T>* ys_k = table.y.data() + k * PH * r;
      for (int64_t ph = 0; ph < PH; ++ph) {
        for (int64_t pw = 0; pw < PW; ++pw) {
          const int64_t b = ph * PW + pw;
          for (int64_t j = 0; j < width; j += kPassChannels) {
            warp_bin<T>(cells + j, row_stride, ys_k + ph * r, xs_k + pw * r, r,
                        tile.data() + b * kChannelBlock + j, tile_arg.data() + b * kChannelBlock + j);
          }
        }
      }
      for (int64_t j = 0; j < width; ++j) {
        for (int64_t b = 0; b < bins; ++b) {
          out_k[j * bins + b] = tile[b * kChannelBlock + j];
          arg_k[j * bins + b] = static_cast<int32_t>(tile_arg[b * kChannelBlock + j]);
        }
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> roi_warp_forward_cpu(const at::Tensor& features,
                                                         const at::Tensor& rois,
                                                         double spatial_scale, int64_t out_h,
                                                         int64_t out_w, int64_t sampling_ratio) {
  check_roi_warp_args(features, rois, spatial_scale, out_h, out_w, sampling_ratio);
  const int64_t N = features.size(0), C = features.size(1), H = features.size(2),
                W = features.size(3), K = rois.size(0);
  const at::Tensor rois_c = rois.contiguous();
  at::Tensor output = at::empty({K, C, out_h, out_w}, features.options());
  at::Tensor argmax = at::empty({K, C, out_h, out_w}, features.options().dtype(at::kInt));
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_warp_forward_cpu", [&] {
    const scalar_t* r = rois_c.data_ptr<scalar_t>();
    const std::vector<int64_t> batch = read_roi_batch_indices("roi_warp", r, K, N);
    if (K == 0 || C == 0) return;
    const SampleTable<scalar_t> table = make_sample_table(
        r, K, static_cast<scalar_t>(spatial_scale), H, W, out_h, out_w, sampling_ratio);
    const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
    at::Tensor blocked = at::empty({N, blocks, H + 2, W + 2, kChannelBlock}, features.options());
    const at::Tensor features_c = features.contiguous();
    to_padded_channel_blocks(features_c.data_ptr<scalar_t>(), N, C, H, W,
                             blocked.data_ptr<scalar_t>());
    forward_kernel<scalar_t>(blocked.data_ptr<scalar_t>(), batch, table, C, H, W, K, out_h, out_w,
                             sampling_ratio, output.data_ptr<scalar_t>(),
                             argmax.data_ptr<int32_t>());
  });
  return {output, argmax};
}

// Gradients of one channel plane of one image (features `plane`, gradient `grad_plane`, both
// H x W) from the RoIs rois[order[i]], i in [begin, end), which all read this image. `padded` and
// `grad_padded` are (H+2) x (W+2) scratch buffers whose border of `padded` is zero. Adds each RoI's
// d out / d(X1, Y1, X2, Y2) into part[k * 4 + 0..3]. Returns false on an argmax outside [-1, r*r).
template <typename T, typename A>
bool backward_plane(const T* plane, T* grad_plane, const T* grad_output, const int32_t* argmax,
                    const SampleTable<T>& table, const int64_t* order, int64_t begin, int64_t end,
                    int64_t c, int64_t C, int64_t H, int64_t W, int64_t PH, int64_t PW, int64_t r,
                    T* padded, T* grad_padded, A* part) {
  const int64_t stride = W + 2, bins = PH * PW, samples = r * r;
  for (int64_t h = 0; h < H; ++h) {
    std::memcpy(padded + (h + 1) * stride + 1, plane + h * W, sizeof(T) * W);
  }
  std::fill(grad_padded, grad_padded + (H + 2) * stride, T(0));
  bool ok = true;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t k = order[i];
    if (!table.box[k].valid) continue;  // NaN coordinate: no gradient at all
    const T* g_kc = grad_output + (k * C + c) * bins;
    const int32_t* a_kc = argmax + (k * C + c) * bins;
    const PaddedAxis<T>* xs = table.x.data() + k * PW * r;
    const PaddedAxis<T>* ys = table.y.data() + k * PH * r;
    T sx1 = 0, sy1 = 0, sx2 = 0, sy2 = 0;  // one RoI and channel: out_h * out_w terms at most
    for (int64_t ph = 0; ph < PH; ++ph) {
      for (int64_t pw = 0; pw < PW; ++pw) {
        const int64_t b = ph * PW + pw;
        const int32_t index = a_kc[b];
        if (index < 0 || index >= samples) {
          ok = ok && index == -1;  // -1: no winning sample, no gradient
          continue;
        }
        const PaddedAxis<T>& y = ys[ph * r + index / r];
        const PaddedAxis<T>& x = xs[pw * r + index % r];
        const int64_t c00 = y.i0 * stride + x.i0, c01 = y.i0 * stride + x.i1;
        const int64_t c10 = y.i1 * stride + x.i0, c11 = y.i1 * stride + x.i1;
        const T f00 = padded[c00], f01 = padded[c01], f10 = padded[c10], f11 = padded[c11];
        const T grad = g_kc[b];
        grad_padded[c00] += grad * (y.s.w_lo * x.s.w_lo);
        grad_padded[c01] += grad * (y.s.w_lo * x.s.w_hi);
        grad_padded[c10] += grad * (y.s.w_hi * x.s.w_lo);
        grad_padded[c11] += grad * (y.s.w_hi * x.s.w_hi);
        const T gu = grad * bilinear_du(y.s, f00, f01, f10, f11);
        const T gv = grad * bilinear_dv(x.s, f00, f01, f10, f11);
        sx1 += gu * (T(1) - x.s.t);
        sx2 += gu * x.s.t;
        sy1 += gv * (T(1) - y.s.t);
        sy2 += gv * y.s.t;
      }
    }
    part[k * 4 + 0] += sx1;
    part[k * 4 + 1] += sy1;
    part[k * 4 + 2] += sx2;
    part[k * 4 + 3] += sy2;
  }
  for (int64_t h = 0; h < H; ++h) {
    std::memcpy(grad_plane + h * W, grad_padded + (h + 1) * stride + 1, sizeof(T) * W);
  }
  return ok;
}

std::tuple<at::Tensor, at::Tensor> roi_warp_backward_cpu(const at::Tensor& grad_output,
                                                          const at::Tensor& argmax,
                                                          const at::Tensor& features,
                                                          const at::Tensor& rois,
                                                          double spatial_scale,
                                                          int64_t sampling_ratio) {
  check_roi_warp_backward_args(grad_output, argmax, features, rois, spatial_scale, sampling_ratio);
  const int64_t N = features.size(0), C = features.size(1), H = features.size(2),
                W = features.size(3), K = rois.size(0);
  const int64_t PH = grad_output.size(2), PW = grad_output.size(3);
  const int64_t r = sampling_ratio;
  const at::Tensor rois_c = rois.contiguous();
  at::Tensor grad_features = at::zeros({N, C, H, W}, features.options());
  at::Tensor grad_rois = at::zeros({K, 5}, rois.options());
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_warp_backward_cpu", [&] {
    using acc_t = at::acc_type<scalar_t, /*is_cuda=*/false>;
    const scalar_t* r_ptr = rois_c.data_ptr<scalar_t>();
    const std::vector<int64_t> batch = read_roi_batch_indices("roi_warp_backward", r_ptr, K, N);
    if (K == 0 || C == 0 || PH * PW == 0) return;
    const SampleTable<scalar_t> table =
        make_sample_table(r_ptr, K, static_cast<scalar_t>(spatial_scale), H, W, PH, PW, r);
    // RoIs grouped by image (stable: each image keeps the RoIs' order), image n owning
    // order[image_begin[n], image_begin[n + 1]).
    std::vector<int64_t> order(K), image_begin(N + 1, 0);
    for (int64_t k = 0; k < K; ++k) ++image_begin[batch[k] + 1];
    for (int64_t n = 0; n < N; ++n) image_begin[n + 1] += image_begin[n];
    std::vector<int64_t> fill(image_begin.begin(), image_begin.end() - 1);
    for (int64_t k = 0; k < K; ++k) order[fill[batch[k]]++] = k;
    const at::Tensor features_c = features.contiguous();
    const at::Tensor grad_c = grad_output.contiguous();
    const at::Tensor argmax_c = argmax.contiguous();
    const scalar_t* f = features_c.data_ptr<scalar_t>();
    const scalar_t* g = grad_c.data_ptr<scalar_t>();
    const int32_t* a = argmax_c.data_ptr<int32_t>();
    scalar_t* gf = grad_features.data_ptr<scalar_t>();
    const int64_t groups = (C + kChannelGroup - 1) / kChannelGroup;
    // partial[(group * K + k) * 4 + {0, 1, 2, 3}]: sum over the group's channels of
    // d out / d(X1, Y1, X2, Y2) of RoI k (map coordinates; the clamp derivative comes last).
    std::vector<acc_t> partial(groups * K * 4, acc_t(0));
    at::parallel_for(0, groups, 1, [&](int64_t g_begin, int64_t g_end) {
      std::vector<scalar_t> padded((H + 2) * (W + 2), scalar_t(0));  // border stays zero
      std::vector<scalar_t> grad_padded((H + 2) * (W + 2));
      for (int64_t group = g_begin; group < g_end; ++group) {
        for (int64_t c = group * kChannelGroup; c < std::min(C, (group + 1) * kChannelGroup); ++c) {
          for (int64_t n = 0; n < N; ++n) {
            if (image_begin[n] == image_begin[n + 1]) continue;  // no RoI: gradient stays 0
            const bool ok = backward_plane<scalar_t, acc_t>(
                f + (n * C + c) * H * W, gf + (n * C + c) * H * W, g, a, table, order.data(),
                image_begin[n], image_begin[n + 1], c, C, H, W, PH, PW, r, padded.data(),
                grad_padded.data(), partial.data() + group * K * 4);
            if (!ok) bad_index = true;
          }
        }
      }
    });
    scalar_t* gr = grad_rois.data_ptr<scalar_t>();
    for (int64_t k = 0; k < K; ++k) {
      const WarpBox<scalar_t>& box = table.box[k];
      if (!box.valid) continue;
      acc_t sum[4] = {0, 0, 0, 0};
      for (int64_t group = 0; group < groups; ++group) {
        for (int64_t j = 0; j < 4; ++j) sum[j] += partial[(group * K + k) * 4 + j];
      }
      gr[k * 5 + 1] = static_cast<scalar_t>(sum[0] * box.dx1);
      gr[k * 5 + 2] = static_cast<scalar_t>(sum[1] * box.dy1);
      gr[k * 5 + 3] = static_cast<scalar_t>(sum[2] * box.dx2);
      gr[k * 5 + 4] = static_cast<scalar_t>(sum[3] * box.dy2);
    }
  });
  TORCH_CHECK_VALUE(!bad_index, "roi_warp_backward: argmax holds a sample index outside [-1, ",
                    sampling_ratio * sampling_ratio, ") for sampling_ratio ", sampling_ratio);
  return {grad_features, grad_rois};
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CPU, m) {
  m.impl("roi_warp", &roi_warp_forward_cpu);
  m.impl("roi_warp_backward", &roi_warp_backward_cpu);
}

}  // namespace faster_rcnn
