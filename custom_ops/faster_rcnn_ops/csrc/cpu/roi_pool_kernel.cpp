// CPU kernels of faster_rcnn::roi_pool (Caffe / py-faster-rcnn semantics, see roi_pool_geometry.h).
//
// Forward. The map is first copied into a channel-blocked layout [N][C/16][H][W][16] (one pass, the
// cost of a transpose): the 16 channels of a cell are contiguous, so one SIMD compare-and-blend
// handles 4 (float32) or 2 (float64) channels at once, and the slice of one channel block is a
// contiguous H*W*16 array (38 x 63 x 64 bytes for VGG-16) that stays in the core's cache. (Plain
// channels-last has the same inner loop, but with C = 512 its cells sit 2 KiB apart, a power-of-two
// stride that maps them to a few cache sets and thrashes.) Tasks are (channel block, RoI), RoI
// fastest, split with at::parallel_for; bin boundaries are computed once per call. The scan inside
// a bin is row-major with a strict '>' (the first maximum wins ties, NaN never wins), as in Caffe.
//
// Backward: the work is split over channels, so no two threads write to the same gradient plane and
// no atomics are needed; each output gradient is added to the cell its argmax names.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

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

// Max and first argmax over one bin for the `Width` channels of a block ([H][W][Width] cells).
// Strict '>' in row-major cell order: the first maximum wins ties and NaN never wins, as in Caffe.
template <typename T, int64_t Width>
inline void pool_bin(const T* cells, int64_t W, int64_t h0, int64_t h1, int64_t w0, int64_t w1,
                     T* out, int32_t* out_arg) {
  using Vec = typename Simd<T>::Vec;
  using Mask = typename Simd<T>::Mask;
  constexpr int64_t kLanes = sizeof(Vec) / sizeof(T);
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
      const Mask index = Mask{} + static_cast<typename Simd<T>::Index>(h * W + w);
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

// Copies an NCHW map into [N][blocks][H][W][kChannelBlock], zero-filling the channels past C.
template <typename T>
void to_channel_blocks(const T* src, int64_t N, int64_t C, int64_t H, int64_t W, T* dst) {
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t plane = H * W;
  at::parallel_for(0, N * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t nb = begin; nb < end; ++nb) {
      const int64_t n = nb / blocks, c0 = (nb % blocks) * kChannelBlock;
      T* out = dst + nb * plane * kChannelBlock;
      for (int64_t j = 0; j < kChannelBlock; ++j) {
        if (c0 + j < C) {
          const T* in = src + (n * C + c0 + j) * plane;
          for (int64_t i = 0; i < plane; ++i) out[i * kChannelBlock + j] = in[i];
        } else {
          for (int64_t i = 0; i < plane; ++i) out[i * kChannelBlock + j] = T(0);
        }
      }
    }
  });
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

template <typename T>
void forward_kernel(const T* blocked, const std::vector<int64_t>& batch, const BinTable& bins_of,
                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t PH, int64_t PW, T* out,
                    int32_t* argmax) {
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t bins = PH * PW;
  const int64_t slice = H * W * kChannelBlock;
  at::parallel_for(0, blocks * K, 16, [&](int64_t begin, int64_t end) {
    T best[kChannelBlock];
    int32_t arg[kChannelBlock];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t k = task % K;
      const int64_t block = task / K;
      const int64_t c0 = block * kChannelBlock;
      const int64_t width = std::min(kChannelBlock, C - c0);
      const int64_t* hs = bins_of.h_begin.data() + k * PH;
      const int64_t* he = bins_of.h_end.data() + k * PH;
      const int64_t* ws = bins_of.w_begin.data() + k * PW;
      const int64_t* we = bins_of.w_end.data() + k * PW;
      const T* cells = blocked + (batch[k] * blocks + block) * slice;
      T* out_k = out + (k * C + c0) * bins;
      int32_t* arg_k = argmax + (k * C + c0) * bins;
      for (int64_t ph = 0; ph < PH; ++ph) {
        for (int64_t pw = 0; pw < PW; ++pw) {
          const int64_t b = ph * PW + pw;
          if (he[ph] <= hs[ph] || we[pw] <= ws[pw]) {  // empty bin: 0, argmax -1
            for (int64_t j = 0; j < width; ++j) {
              out_k[j * bins + b] = T(0);
              arg_k[j * bins + b] = -1;
            }
            continue;
          }
          pool_bin<T, kChannelBlock>(cells, W, hs[ph], he[ph], ws[pw], we[pw], best, arg);
          for (int64_t j = 0; j < width; ++j) {
            out_k[j * bins + b] = best[j];
            arg_k[j * bins + b] = arg[j];
          }
        }
      }
    }
  });
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
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  at::Tensor blocked = at::empty({N, blocks, H, W, kChannelBlock}, features.options());
  const at::Tensor rois_c = rois.contiguous();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_pool_forward_cpu", [&] {
    const std::vector<int64_t> batch =
        read_roi_batch_indices("roi_pool", rois_c.data_ptr<scalar_t>(), K, N);
    const BinTable bins_of = make_bin_table(rois_c.data_ptr<scalar_t>(), K,
                                            static_cast<scalar_t>(spatial_scale), H, W,
                                            pooled_height, pooled_width);
    to_channel_blocks(features_c.data_ptr<scalar_t>(), N, C, H, W, blocked.data_ptr<scalar_t>());
    forward_kernel<scalar_t>(blocked.data_ptr<scalar_t>(), batch, bins_of, C, H, W, K,
                             pooled_height, pooled_width, output.data_ptr<scalar_t>(),
                             argmax.data_ptr<int32_t>());
  });
  return {output, argmax};
}

at::Tensor roi_pool_backward_cpu(const at::Tensor& grad_output, const at::Tensor& argmax,
                                 const at::Tensor& rois, int64_t batch_size, int64_t channels,
                                 int64_t height, int64_t width) {
  check_roi_pool_backward_args(grad_output, argmax, rois, batch_size, channels, height, width);
  at::Tensor grad_input = at::zeros({batch_size, channels, height, width}, grad_output.options());
  const int64_t K = grad_output.size(0);
  if (K == 0 || channels == 0) return grad_input;
  const int64_t bins = grad_output.size(2) * grad_output.size(3);
  const int64_t plane = height * width;
  const at::Tensor grad_c = grad_output.contiguous();
  const at::Tensor argmax_c = argmax.contiguous();
  const at::Tensor rois_c = rois.to(grad_output.scalar_type()).contiguous();
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(grad_output.scalar_type(), "roi_pool_backward_cpu", [&] {
    const std::vector<int64_t> batch =
        read_roi_batch_indices("roi_pool_backward", rois_c.data_ptr<scalar_t>(), K, batch_size);
    const scalar_t* g = grad_c.data_ptr<scalar_t>();
    const int32_t* a = argmax_c.data_ptr<int32_t>();
    scalar_t* gi = grad_input.data_ptr<scalar_t>();
    at::parallel_for(0, channels, 1, [&](int64_t c_begin, int64_t c_end) {
      for (int64_t c = c_begin; c < c_end; ++c) {
        for (int64_t k = 0; k < K; ++k) {
          const scalar_t* g_kc = g + (k * channels + c) * bins;
          const int32_t* a_kc = a + (k * channels + c) * bins;
          scalar_t* gi_plane = gi + (batch[k] * channels + c) * plane;
          for (int64_t b = 0; b < bins; ++b) {
            const int32_t index = a_kc[b];
            if (index < 0) continue;  // empty bin (or no finite maximum): no gradient
            if (index >= plane) {
              bad_index = true;
              continue;
            }
            gi_plane[index] += g_kc[b];
          }
        }
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
