// CUDA kernels of faster_rcnn::roi_pool (Caffe / py-faster-rcnn semantics, see roi_pool_geometry.h).
// Compiled only when CUDA is available (or FORCE_CUDA=1). Forward: one thread per output element, NCHW
// reads (neighbouring threads share a RoI and channel, so their bins are neighbours in memory).
// Backward: one thread per output gradient, atomicAdd into the input gradient at the argmax.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <limits>

#include "../roi_pool_checks.h"
#include "../roi_pool_geometry.h"

namespace faster_rcnn {
namespace {

constexpr int kThreads = 256;

inline int64_t num_blocks(int64_t n) {
  return std::min<int64_t>((n + kThreads - 1) / kThreads, 65535LL * 8);
}

template <typename T>
__global__ void roi_pool_forward_kernel(int64_t total, const T* __restrict__ features,
                                        const T* __restrict__ rois, T spatial_scale, int64_t C,
                                        int64_t H, int64_t W, int64_t PH, int64_t PW,
                                        T* __restrict__ out, int32_t* __restrict__ argmax) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t pw = i % PW;
    const int64_t ph = (i / PW) % PH;
    const int64_t c = (i / (PW * PH)) % C;
    const int64_t k = i / (PW * PH * C);
    const T* roi = rois + k * 5;
    const RoIBins<T> g = roi_bins(roi, spatial_scale, PH, PW);
    const int64_t h0 = bin_begin(ph, g.bin_h, g.start_h, H), h1 = bin_end(ph, g.bin_h, g.start_h, H);
    const int64_t w0 = bin_begin(pw, g.bin_w, g.start_w, W), w1 = bin_end(pw, g.bin_w, g.start_w, W);
    if (!g.valid || h1 <= h0 || w1 <= w0) {
      out[i] = T(0);
      argmax[i] = -1;
      continue;
    }
    const T* plane = features + (static_cast<int64_t>(roi[0]) * C + c) * H * W;
    T best = std::numeric_limits<T>::lowest();
    int32_t best_index = -1;
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t w = w0; w < w1; ++w) {
        const int64_t index = h * W + w;
        if (plane[index] > best) {
          best = plane[index];
          best_index = static_cast<int32_t>(index);
        }
      }
    }
    out[i] = best;
    argmax[i] = best_index;
  }
}

template <typename T>
__global__ void roi_pool_backward_kernel(int64_t total, const T* __restrict__ grad_output,
                                         const int32_t* __restrict__ argmax,
                                         const T* __restrict__ rois, int64_t C, int64_t H,
                                         int64_t W, int64_t bins, T* __restrict__ grad_input) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int32_t index = argmax[i];
    if (index < 0) continue;
    const int64_t c = (i / bins) % C;
    const int64_t k = i / (bins * C);
    const int64_t n = static_cast<int64_t>(rois[k * 5]);
    atomicAdd(grad_input + (n * C + c) * H * W + index, grad_output[i]);
  }
}

std::tuple<at::Tensor, at::Tensor> roi_pool_forward_cuda(const at::Tensor& features,
                                                          const at::Tensor& rois,
                                                          double spatial_scale,
                                                          int64_t pooled_height,
                                                          int64_t pooled_width) {
  check_roi_pool_args(features, rois, spatial_scale, pooled_height, pooled_width);
  TORCH_CHECK(features.scalar_type() == at::kFloat || features.scalar_type() == at::kDouble,
              "roi_pool: CUDA kernel supports float32 and float64, got ", features.scalar_type());
  const c10::cuda::CUDAGuard guard(features.device());
  check_roi_batch_indices("roi_pool", rois, features.size(0));
  const int64_t C = features.size(1), H = features.size(2), W = features.size(3), K = rois.size(0);
  at::Tensor output = at::empty({K, C, pooled_height, pooled_width}, features.options());
  at::Tensor argmax = at::empty({K, C, pooled_height, pooled_width}, features.options().dtype(at::kInt));
  const int64_t total = output.numel();
  if (total == 0) return {output, argmax};
  const at::Tensor features_c = features.contiguous();
  const at::Tensor rois_c = rois.contiguous();
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_pool_forward_cuda", [&] {
    roi_pool_forward_kernel<scalar_t><<<num_blocks(total), kThreads, 0, stream>>>(
        total, features_c.data_ptr<scalar_t>(), rois_c.data_ptr<scalar_t>(),
        static_cast<scalar_t>(spatial_scale), C, H, W, pooled_height, pooled_width,
        output.data_ptr<scalar_t>(), argmax.data_ptr<int32_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {output, argmax};
}

at::Tensor roi_pool_backward_cuda(const at::Tensor& grad_output, const at::Tensor& argmax,
                                  const at::Tensor& rois, int64_t batch_size, int64_t channels,
                                  int64_t height, int64_t width) {
  check_roi_pool_backward_args(grad_output, argmax, rois, batch_size, channels, height, width);
  const c10::cuda::CUDAGuard guard(grad_output.device());
  check_roi_batch_indices("roi_pool_backward", rois, batch_size);
  TORCH_CHECK_VALUE(argmax.numel() == 0 || argmax.max().item<int64_t>() < height * width,
                    "roi_pool_backward: argmax holds an index outside the ", height, " x ", width,
                    " feature map");
  at::Tensor grad_input = at::zeros({batch_size, channels, height, width}, grad_output.options());
  const int64_t total = grad_output.numel();
  if (total == 0) return grad_input;
  const at::Tensor grad_c = grad_output.contiguous();
  const at::Tensor argmax_c = argmax.contiguous();
  const at::Tensor rois_c = rois.to(grad_output.scalar_type()).contiguous();
  const int64_t bins = grad_output.size(2) * grad_output.size(3);
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(grad_output.scalar_type(), "roi_pool_backward_cuda", [&] {
    roi_pool_backward_kernel<scalar_t><<<num_blocks(total), kThreads, 0, stream>>>(
        total, grad_c.data_ptr<scalar_t>(), argmax_c.data_ptr<int32_t>(),
        rois_c.data_ptr<scalar_t>(), channels, height, width, bins,
        grad_input.data_ptr<scalar_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return grad_input;
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CUDA, m) {
  m.impl("roi_pool", &roi_pool_forward_cuda);
  m.impl("roi_pool_backward", &roi_pool_backward_cuda);
}

}  // namespace faster_rcnn
