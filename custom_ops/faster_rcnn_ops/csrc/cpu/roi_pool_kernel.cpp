// CPU kernels of faster_rcnn::roi_pool (Caffe / py-faster-rcnn semantics, see roi_pool_geometry.h).
//
// Forward: the feature map is read channels-last (one copy when it is NCHW), and the work is split
// over (RoI, block of kChannelBlock channels) with at::parallel_for. For each bin the kernel scans the
// bin's cells once, comparing a contiguous block of channels per cell, which the compiler turns into
// SIMD compares and blends; bin boundaries are computed once per RoI, not per channel. The scan order
// inside a bin is row-major with a strict '>' (the first maximum wins ties), as in Caffe.
//
// Backward: the work is split over channels, so no two threads write to the same gradient plane and
// no atomics are needed; each output gradient is added to the cell its argmax names.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <atomic>
#include <limits>
#include <vector>

#include "../roi_pool_checks.h"
#include "../roi_pool_geometry.h"

namespace faster_rcnn {
namespace {

constexpr int64_t kChannelBlock = 16;

// Reads rois[:, 0] as batch indices, checking each row (integral, inside [0, batch_size)).
template <typename T>
std::vector<int64_t> read_batch_indices(const T* rois, int64_t num_rois, int64_t batch_size) {
  std::vector<int64_t> batch(num_rois);
  for (int64_t k = 0; k < num_rois; ++k) {
    const T v = rois[k * 5];
    TORCH_CHECK_VALUE(std::isfinite(static_cast<double>(v)) && v == std::floor(v),
                      "roi_pool: rois[", k, ", 0] = ", v, " is not an integral batch index");
    TORCH_CHECK_VALUE(v >= 0 && v < static_cast<T>(batch_size), "roi_pool: rois[", k,
                      ", 0] = ", v, " is out of range for a batch of ", batch_size, " image(s)");
    batch[k] = static_cast<int64_t>(v);
  }
  return batch;
}

// Max over one bin for `width` consecutive channels starting at `cell0` (channels-last layout).
// `Width` > 0 fixes the block width at compile time so the channel loop vectorises.
template <typename T, int64_t Width>
inline void pool_bin(const T* plane, int64_t W, int64_t C, int64_t h0, int64_t h1, int64_t w0,
                     int64_t w1, int64_t width, T* best, int32_t* arg) {
  const int64_t n = Width > 0 ? Width : width;
  for (int64_t j = 0; j < n; ++j) {
    best[j] = std::numeric_limits<T>::lowest();  // Caffe: -FLT_MAX, argmax -1
    arg[j] = -1;
  }
  for (int64_t h = h0; h < h1; ++h) {
    for (int64_t w = w0; w < w1; ++w) {
      const int32_t index = static_cast<int32_t>(h * W + w);
      const T* cell = plane + (h * W + w) * C;
      for (int64_t j = 0; j < n; ++j) {
        const bool greater = cell[j] > best[j];
        best[j] = greater ? cell[j] : best[j];
        arg[j] = greater ? index : arg[j];
      }
    }
  }
}

template <typename T>
void forward_kernel(const T* features_cl, const T* rois, const std::vector<int64_t>& batch,
                    int64_t C, int64_t H, int64_t W, int64_t K, T scale, int64_t PH, int64_t PW,
                    T* out, int32_t* argmax) {
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t bins = PH * PW;
  at::parallel_for(0, K * blocks, 4, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> hs(PH), he(PH), ws(PW), we(PW);  // once per chunk, not per element
    int64_t geometry_of = -1;
    bool valid = false;
    T best[kChannelBlock];
    int32_t arg[kChannelBlock];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t k = task / blocks;
      const int64_t c0 = (task % blocks) * kChannelBlock;
      const int64_t width = std::min(kChannelBlock, C - c0);
      if (k != geometry_of) {
        const RoIBins<T> g = roi_bins(rois + k * 5, scale, PH, PW);
        valid = g.valid;
        for (int64_t p = 0; p < PH; ++p) {
          hs[p] = bin_begin(p, g.bin_h, g.start_h, H);
          he[p] = bin_end(p, g.bin_h, g.start_h, H);
        }
        for (int64_t p = 0; p < PW; ++p) {
          ws[p] = bin_begin(p, g.bin_w, g.start_w, W);
          we[p] = bin_end(p, g.bin_w, g.start_w, W);
        }
        geometry_of = k;
      }
      const T* plane = features_cl + batch[k] * H * W * C + c0;
      T* out_k = out + (k * C + c0) * bins;
      int32_t* arg_k = argmax + (k * C + c0) * bins;
      for (int64_t ph = 0; ph < PH; ++ph) {
        for (int64_t pw = 0; pw < PW; ++pw) {
          const int64_t b = ph * PW + pw;
          if (!valid || he[ph] <= hs[ph] || we[pw] <= ws[pw]) {
            for (int64_t j = 0; j < width; ++j) {
              out_k[j * bins + b] = T(0);
              arg_k[j * bins + b] = -1;
            }
            continue;
          }
          if (width == kChannelBlock) {
            pool_bin<T, kChannelBlock>(plane, W, C, hs[ph], he[ph], ws[pw], we[pw], width, best, arg);
          } else {
            pool_bin<T, 0>(plane, W, C, hs[ph], he[ph], ws[pw], we[pw], width, best, arg);
          }
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
  // Channels-last view of the map: a no-op when the caller already holds it in that format.
  const at::Tensor features_cl = features.contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor rois_c = rois.contiguous();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_pool_forward_cpu", [&] {
    const std::vector<int64_t> batch = read_batch_indices(rois_c.data_ptr<scalar_t>(), K, N);
    forward_kernel<scalar_t>(features_cl.data_ptr<scalar_t>(), rois_c.data_ptr<scalar_t>(), batch,
                             C, H, W, K, static_cast<scalar_t>(spatial_scale), pooled_height,
                             pooled_width, output.data_ptr<scalar_t>(), argmax.data_ptr<int32_t>());
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
    const std::vector<int64_t> batch = read_batch_indices(rois_c.data_ptr<scalar_t>(), K, batch_size);
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
