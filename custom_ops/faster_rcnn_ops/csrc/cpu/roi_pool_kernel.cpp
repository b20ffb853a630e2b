// CPU kernels of faster_rcnn::roi_pool (Caffe / py-faster-rcnn semantics, see roi_pool_geometry.h).
//
// Forward. Tasks are (image, block of 16 channels), split with at::parallel_for. A task copies its
// block into a channel-blocked layout [H][W][16] (the cost of a transpose; 38 x 63 x 64 bytes =
// 150 KiB for float32, which stays in the core's L2 cache) and pools every RoI of the image from
// it: the 16 channels of a cell are contiguous, so one SIMD compare-and-blend handles several
// channels at once — 16 with AVX-512, 8 with AVX2, 4 with the 16-byte vectors every x86-64 / Arm
// CPU has (float32; half as many float64), the widest torch itself uses on this CPU (simd.h). (Plain
// channels-last has the same inner loop, but with C = 512 its cells sit 2 KiB apart, a power-of-two
// stride that maps them to a few cache sets and thrashes; one copy of the whole map, as an earlier
// version made, costs a fresh multi-MiB buffer — page faults — per call.) Bin boundaries are computed
// once per call. The scan inside a bin is row-major with a strict '>' (the first maximum wins ties,
// NaN never wins), as in Caffe; every vector width gives the same bits.
//
// Backward: the work is split over channels, so no two threads write to the same gradient plane and
// no atomics are needed; each output gradient is added to the cell its argmax names (see
// scatter_to_argmax for the access order).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <vector>

#include "../roi_pool_checks.h"
#include "../roi_pool_geometry.h"
#include "simd.h"

namespace faster_rcnn {
namespace {

constexpr int64_t kChannelBlock = 16;

// Max and first argmax over one bin for the `Width` channels of a block ([H][W][Width] cells), in
// vectors of `VecBytes` bytes. Strict '>' in row-major cell order: the first maximum wins ties and
// NaN never wins, as in Caffe.
template <typename T, int64_t Width, int VecBytes>
FASTER_RCNN_ALWAYS_INLINE void pool_bin(const T* cells, int64_t W, int64_t h0, int64_t h1,
                                        int64_t w0, int64_t w1, T* out, int32_t* out_arg) {
  using S = SimdOf<T, VecBytes>;
  using Vec = typename S::Vec;
  using Mask = typename S::Mask;
  constexpr int64_t kLanes = S::kLanes;
  constexpr int64_t kVecs = Width / kLanes;
  static_assert(Width % kLanes == 0, "block width must be a multiple of the SIMD width");
  Vec best[kVecs];
  Mask arg[kVecs];
  for (int64_t i = 0; i < kVecs; ++i) {
    best[i] = Vec{} + std::numeric_limits<T>::lowest();  // Caffe: -FLT_MAX, argmax -1
    arg[i] = Mask{} - 1;
  }
  for (int64_t h = h0; h < h1; ++h) {
    for (int64_t w = w0; w < w1; ++w) {
      const Mask index = Mask{} + static_cast<typename S::Index>(h * W + w);
      const T* cell = cells + (h * W + w) * Width;
      for (int64_t i = 0; i < kVecs; ++i) {
        Vec v;
        std::memcpy(&v, cell + i * kLanes, sizeof(Vec));  // unaligned load
        const Mask greater = v > best[i];
        best[i] = greater ? v : best[i];
        arg[i] = greater ? index : arg[i];
      }
    }
  }
  for (int64_t i = 0; i < kVecs; ++i) {
    for (int64_t l = 0; l < kLanes; ++l) {
      out[i * kLanes + l] = best[i][l];
      out_arg[i * kLanes + l] = static_cast<int32_t>(arg[i][l]);
    }
  }
}

// Bin boundaries of every RoI, computed once per call: rows [h_begin, h_end) of bin row ph of RoI k
// at index k * PH + ph, columns likewise; an invalid (NaN) RoI gets empty bins.
struct BinTable {
  std::vector<int64_t> h_begin, h_end, w_begin, w_end;
};

template <typename T>
BinTable make_bin_table(const T* rois, int64_t K, T scale, int64_t H, int64_t W, int64_t PH,
                        int64_t PW) {
  BinTable t{std::vector<int64_t>(K * PH), std::vector<int64_t>(K * PH),
             std::vector<int64_t>(K * PW), std::vector<int64_t>(K * PW)};
  for (int64_t k = 0; k < K; ++k) {
    const RoIBins<T> g = roi_bins(rois + k * 5, scale, PH, PW);
    for (int64_t p = 0; p < PH; ++p) {
      t.h_begin[k * PH + p] = g.valid ? bin_begin(p, g.bin_h, g.start_h, H) : 0;
      t.h_end[k * PH + p] = g.valid ? bin_end(p, g.bin_h, g.start_h, H) : 0;
    }
    for (int64_t p = 0; p < PW; ++p) {
      t.w_begin[k * PW + p] = g.valid ? bin_begin(p, g.bin_w, g.start_w, W) : 0;
      t.w_end[k * PW + p] = g.valid ? bin_end(p, g.bin_w, g.start_w, W) : 0;
    }
  }
  return t;
}

// What every forward task reads and writes.
template <typename T>
struct ForwardArgs {
  const T* features;  // NCHW, contiguous
  const BinTable* bins_of;
  const std::vector<int64_t>* rois_of_image;  // RoI indices grouped by image, in RoI order
  const std::vector<int64_t>* first_roi;      // image n's RoIs: [first_roi[n], first_roi[n + 1])
  int64_t C, H, W, PH, PW;
  T* out;
  int32_t* argmax;
};

// Copies channels [c0, c0 + kChannelBlock) of image n's NCHW map into `cells`, [H][W][kChannelBlock],
// zero-filling the channels past C.
template <typename T>
FASTER_RCNN_ALWAYS_INLINE void to_channel_block(const ForwardArgs<T>& a, int64_t n, int64_t c0,
                                                T* cells) {
  const int64_t plane = a.H * a.W;
  for (int64_t j = 0; j < kChannelBlock; ++j) {
    if (c0 + j < a.C) {
      const T* in = a.features + (n * a.C + c0 + j) * plane;
      for (int64_t i = 0; i < plane; ++i) cells[i * kChannelBlock + j] = in[i];
    } else {
      for (int64_t i = 0; i < plane; ++i) cells[i * kChannelBlock + j] = T(0);
    }
  }
}

// Tasks [begin, end) of (image, channel block), channel block fastest, with vectors of `VecBytes`
// bytes: the task lays out its block ([H][W][kChannelBlock], H * W * 64 bytes for float32 — 150 KiB
// for a 38 x 63 map, it stays in the core's L2 cache) and pools every RoI of the image from it.
template <typename T, int VecBytes>
FASTER_RCNN_ALWAYS_INLINE void pool_tasks(const ForwardArgs<T>& a, int64_t begin, int64_t end) {
  const int64_t blocks = (a.C + kChannelBlock - 1) / kChannelBlock;
  const int64_t bins = a.PH * a.PW;
  std::vector<T> cells(a.H * a.W * kChannelBlock);
  T best[kChannelBlock];
  int32_t arg[kChannelBlock];
  for (int64_t task = begin; task < end; ++task) {
    const int64_t n = task / blocks;
    const int64_t c0 = (task % blocks) * kChannelBlock;
    const int64_t width = std::min(kChannelBlock, a.C - c0);
    const int64_t first = (*a.first_roi)[n], last = (*a.first_roi)[n + 1];
    if (first == last) continue;
    to_channel_block(a, n, c0, cells.data());
    for (int64_t r = first; r < last; ++r) {
      const int64_t k = (*a.rois_of_image)[r];
      const int64_t* hs = a.bins_of->h_begin.data() + k * a.PH;
      const int64_t* he = a.bins_of->h_end.data() + k * a.PH;
      const int64_t* ws = a.bins_of->w_begin.data() + k * a.PW;
      const int64_t* we = a.bins_of->w_end.data() + k * a.PW;
      T* out_k = a.out + (k * a.C + c0) * bins;
      int32_t* arg_k = a.argmax + (k * a.C + c0) * bins;
      for (int64_t ph = 0; ph < a.PH; ++ph) {
        for (int64_t pw = 0; pw < a.PW; ++pw) {
          const int64_t b = ph * a.PW + pw;
          if (he[ph] <= hs[ph] || we[pw] <= ws[pw]) {  // empty bin: 0, argmax -1
            for (int64_t j = 0; j < width; ++j) {
              out_k[j * bins + b] = T(0);
              arg_k[j * bins + b] = -1;
            }
            continue;
          }
          pool_bin<T, kChannelBlock, VecBytes>(cells.data(), a.W, hs[ph], he[ph], ws[pw], we[pw],
                                               best, arg);
          for (int64_t j = 0; j < width; ++j) {
            out_k[j * bins + b] = best[j];
            arg_k[j * bins + b] = arg[j];
          }
        }
      }
    }
  }
}

// pool_tasks compiled for each vector width; forward_kernel picks the widest the CPU runs.
template <typename T>
void pool_tasks_base(const ForwardArgs<T>& a, int64_t begin, int64_t end) {
  pool_tasks<T, 16>(a, begin, end);
}
#if FASTER_RCNN_WIDE_SIMD
template <typename T>
FASTER_RCNN_TARGET_AVX2 void pool_tasks_avx2(const ForwardArgs<T>& a, int64_t begin, int64_t end) {
  pool_tasks<T, 32>(a, begin, end);
}
template <typename T>
FASTER_RCNN_TARGET_AVX512 void pool_tasks_avx512(const ForwardArgs<T>& a, int64_t begin,
                                                 int64_t end) {
  pool_tasks<T, 64>(a, begin, end);
}
#endif

template <typename T>
void forward_kernel(const ForwardArgs<T>& args, int64_t N) {
  void (*tasks)(const ForwardArgs<T>&, int64_t, int64_t) = &pool_tasks_base<T>;
#if FASTER_RCNN_WIDE_SIMD
  if (simd_isa() == SimdIsa::kAvx512) tasks = &pool_tasks_avx512<T>;
  if (simd_isa() == SimdIsa::kAvx2) tasks = &pool_tasks_avx2<T>;
#endif
  const int64_t blocks = (args.C + kChannelBlock - 1) / kChannelBlock;
  at::parallel_for(0, N * blocks, 1, [&](int64_t begin, int64_t end) { tasks(args, begin, end); });
}

std::tuple<at::Tensor, at::Tensor> roi_pool_forward_cpu(const at::Tensor& features,
                                                         const at::Tensor& rois,
                                                         double spatial_scale,
                                                         int64_t pooled_height,
                                                         int64_t pooled_width) {
  check_roi_pool_args(features, rois, spatial_scale, pooled_height, pooled_width);
  TORCH_CHECK(features.scalar_type() == at::kFloat || features.scalar_type() == at::kDouble,
              "roi_pool: CPU kernel supports float32 and float64, got ", features.scalar_type());
  const int64_t N = features.size(0), C = features.size(1), H = features.size(2),
                W = features.size(3), K = rois.size(0);
  at::Tensor output = at::empty({K, C, pooled_height, pooled_width}, features.options());
  at::Tensor argmax = at::empty({K, C, pooled_height, pooled_width}, features.options().dtype(at::kInt));
  if (K == 0 || C == 0) return {output, argmax};
  const at::Tensor features_c = features.contiguous();
  const at::Tensor rois_c = rois.contiguous();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_pool_forward_cpu", [&] {
    const std::vector<int64_t> batch =
        read_roi_batch_indices("roi_pool", rois_c.data_ptr<scalar_t>(), K, N);
    const BinTable bins_of = make_bin_table(rois_c.data_ptr<scalar_t>(), K,
                                            static_cast<scalar_t>(spatial_scale), H, W,
                                            pooled_height, pooled_width);
    std::vector<int64_t> first_roi(N + 1, 0), rois_of_image(K);
    for (int64_t k = 0; k < K; ++k) ++first_roi[batch[k] + 1];
    for (int64_t n = 0; n < N; ++n) first_roi[n + 1] += first_roi[n];
    std::vector<int64_t> next(first_roi.begin(), first_roi.end() - 1);
    for (int64_t k = 0; k < K; ++k) rois_of_image[next[batch[k]]++] = k;
    forward_kernel(ForwardArgs<scalar_t>{features_c.data_ptr<scalar_t>(), &bins_of, &rois_of_image,
                                         &first_roi, C, H, W, pooled_height, pooled_width,
                                         output.data_ptr<scalar_t>(), argmax.data_ptr<int32_t>()},
                   N);
  });
  return {output, argmax};
}

// Adds grad_output[k, c, bin] at argmax[k, c, bin] of the gradient planes of channels [c_begin, c_end)
// (zeroed here first), RoI by RoI: one thread owns these planes, so no other thread writes to them and
// no atomics are needed, and it reads grad_output / argmax as contiguous runs (RoI k's rows of its
// channels). Each cell sums its gradients in RoI order, then bin order, as torchvision's and Caffe's
// serial loops do, so the sums are bit-equal to theirs for any thread count.
template <typename T>
bool scatter_to_argmax(const T* grad, const int32_t* argmax, const std::vector<int64_t>& batch,
                       int64_t N, int64_t C, int64_t plane, int64_t bins, int64_t c_begin,
                       int64_t c_end, T* grad_input) {
  const int64_t width = c_end - c_begin;
  for (int64_t n = 0; n < N; ++n) {
    std::fill_n(grad_input + (n * C + c_begin) * plane, width * plane, T(0));
  }
  bool bad_index = false;
  const int64_t K = static_cast<int64_t>(batch.size());
  for (int64_t k = 0; k < K; ++k) {
    const T* g = grad + (k * C + c_begin) * bins;
    const int32_t* a = argmax + (k * C + c_begin) * bins;
    T* gi = grad_input + (batch[k] * C + c_begin) * plane;
    for (int64_t c = 0; c < width; ++c, g += bins, a += bins, gi += plane) {
      for (int64_t b = 0; b < bins; ++b) {
        const int32_t index = a[b];
        if (index < 0) continue;  // empty bin (or no finite maximum): no gradient
        if (index >= plane) {
          bad_index = true;
          continue;
        }
        gi[index] += g[b];
      }
    }
  }
  return bad_index;
}

at::Tensor roi_pool_backward_cpu(const at::Tensor& grad_output, const at::Tensor& argmax,
                                 const at::Tensor& rois, int64_t batch_size, int64_t channels,
                                 int64_t height, int64_t width) {
  check_roi_pool_backward_args(grad_output, argmax, rois, batch_size, channels, height, width);
  const int64_t K = grad_output.size(0);
  if (K == 0 || channels == 0) {
    return at::zeros({batch_size, channels, height, width}, grad_output.options());
  }
  at::Tensor grad_input = at::empty({batch_size, channels, height, width}, grad_output.options());
  const int64_t bins = grad_output.size(2) * grad_output.size(3);
  const int64_t plane = height * width;
  const at::Tensor grad_c = grad_output.contiguous();
  const at::Tensor argmax_c = argmax.contiguous();
  const at::Tensor rois_c = rois.to(grad_output.scalar_type()).contiguous();
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(grad_output.scalar_type(), "roi_pool_backward_cpu", [&] {
    const std::vector<int64_t> batch =
        read_roi_batch_indices("roi_pool_backward", rois_c.data_ptr<scalar_t>(), K, batch_size);
    // One contiguous range of channels per thread (grain: at least 8 channels' planes per task).
    at::parallel_for(0, channels, 8, [&](int64_t c_begin, int64_t c_end) {
      if (scatter_to_argmax(grad_c.data_ptr<scalar_t>(), argmax_c.data_ptr<int32_t>(), batch,
                            batch_size, channels, plane, bins, c_begin, c_end,
                            grad_input.data_ptr<scalar_t>())) {
        bad_index = true;
      }
    });
  });
  TORCH_CHECK_VALUE(!bad_index, "roi_pool_backward: argmax holds an index outside the ", height,
                    " x ", width, " feature map");
  return grad_input;
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CPU, m) {
  m.impl("roi_pool", &roi_pool_forward_cpu);
  m.impl("roi_pool_backward", &roi_pool_backward_cpu);
}

}  // namespace faster_rcnn
