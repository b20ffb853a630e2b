// CUDA kernels of faster_rcnn::roi_warp (MNC RoI warping, see roi_warp_geometry.h for the semantics).
// Compiled only when CUDA is available (or FORCE_CUDA=1).
//
// Forward: one thread per output element, NCHW reads (neighbouring threads share a RoI and channel,
// so their samples read neighbouring cells); each thread recomputes its RoI's geometry, which costs
// a few flops next to the r * r bilinear samples.
// Backward: a 2-D grid, RoIs along y and each RoI's (channel, bin) elements along x, one thread per
// output gradient. The feature gradient is scattered with atomicAdd to the winning sample's four
// neighbours. Every block works on one RoI at a time, so the coordinate gradient is first summed
// over the block (warp shuffles, then shared memory) and added with one atomicAdd per block and
// coordinate, instead of one per thread on the same four addresses.
#include <ATen/ATen.h>
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../roi_warp_checks.h"
#include "../roi_warp_geometry.h"

namespace faster_rcnn {
namespace {

constexpr int kThreads = 256;  // a multiple of the warp size (block reduction)
constexpr int kWarps = kThreads / 32;

inline int64_t num_blocks(int64_t n) {
  return std::min<int64_t>((n + kThreads - 1) / kThreads, 65535LL * 8);
}

// F[h][w] of one H x W plane, 0 outside the map (zero padding).
template <typename T>
__device__ inline T read_cell(const T* plane, int64_t h, int64_t w, int64_t H, int64_t W) {
  return cell_inside(h, H) && cell_inside(w, W) ? plane[h * W + w] : T(0);
}

template <typename T>
__global__ void roi_warp_forward_kernel(int64_t total, const T* __restrict__ features,
                                        const T* __restrict__ rois, T spatial_scale, int64_t C,
                                        int64_t H, int64_t W, int64_t PH, int64_t PW, int64_t r,
                                        T* __restrict__ out, int32_t* __restrict__ argmax) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t pw = i % PW;
    const int64_t ph = (i / PW) % PH;
    const int64_t c = (i / (PW * PH)) % C;
    const int64_t k = i / (PW * PH * C);
    const T* roi = rois + k * 5;
    const WarpBox<T> box = warp_box(roi, spatial_scale);
    if (!box.valid) {  // NaN coordinate: output 0, argmax -1
      out[i] = T(0);
      argmax[i] = -1;
      continue;
    }
    const T* plane = features + (static_cast<int64_t>(roi[0]) * C + c) * H * W;
    // The first sample starts the maximum (NaN or not); a later one replaces it when greater, or
    // when the maximum is still NaN and it is not: NaN samples lose to any number.
    T best = T(0);
    int32_t best_index = 0;
    for (int64_t iy = 0; iy < r; ++iy) {
      const AxisSample<T> ay = axis_sample(box.y1, box.y2, PH, sample_offset<T>(ph, iy, r));
      for (int64_t ix = 0; ix < r; ++ix) {
        const AxisSample<T> ax = axis_sample(box.x1, box.x2, PW, sample_offset<T>(pw, ix, r));
        const T v = bilinear(ay, ax, read_cell(plane, ay.lo, ax.lo, H, W),
                             read_cell(plane, ay.lo, ax.lo + 1, H, W),
                             read_cell(plane, ay.lo + 1, ax.lo, H, W),
                             read_cell(plane, ay.lo + 1, ax.lo + 1, H, W));
        const int32_t index = static_cast<int32_t>(iy * r + ix);
        if (index == 0 || v > best || (best != best && v == v)) {
          best = v;
          best_index = index;
        }
      }
    }
    out[i] = best;
    argmax[i] = best_index;
  }
}

// Sum of v over the block, valid in thread 0. Every thread of the block must call it.
template <typename A>
__device__ inline A block_sum(A v, A* shared) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < kWarps ? shared[threadIdx.x] : A(0);
  if (warp == 0) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  }
  __syncthreads();  // `shared` may be reused right after
  return v;
}

template <typename T>
__global__ void roi_warp_backward_kernel(const T* __restrict__ grad_output,
                                         const int32_t* __restrict__ argmax,
                                         const T* __restrict__ features, const T* __restrict__ rois,
                                         T spatial_scale, int64_t K, int64_t C, int64_t H, int64_t W,
                                         int64_t PH, int64_t PW, int64_t r,
                                         T* __restrict__ grad_features, T* __restrict__ grad_rois) {
  using acc_t = at::acc_type<T, /*is_cuda=*/true>;
  __shared__ acc_t shared[kWarps];
  const int64_t per_roi = C * PH * PW;
  // k is the same for the whole block, so the early `continue` and block_sum stay block-uniform.
  for (int64_t k = blockIdx.y; k < K; k += gridDim.y) {
    const T* roi = rois + k * 5;
    const WarpBox<T> box = warp_box(roi, spatial_scale);
    if (!box.valid) continue;  // NaN coordinate: no gradient at all
    const int64_t n = static_cast<int64_t>(roi[0]);
    acc_t sx1 = 0, sy1 = 0, sx2 = 0, sy2 = 0;
    for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < per_roi;
         j += static_cast<int64_t>(blockDim.x) * gridDim.x) {
      const int64_t i = k * per_roi + j;
      const int32_t index = argmax[i];
      if (index < 0) continue;  // no winning sample (the host checked the range)
      const int64_t pw = j % PW;
      const int64_t ph = (j / PW) % PH;
      const int64_t c = j / (PW * PH);
      const AxisSample<T> ay = axis_sample(box.y1, box.y2, PH, sample_offset<T>(ph, index / r, r));
      const AxisSample<T> ax = axis_sample(box.x1, box.x2, PW, sample_offset<T>(pw, index % r, r));
      const T* plane = features + (n * C + c) * H * W;
      T* grad_plane = grad_features + (n * C + c) * H * W;
      const bool y0 = cell_inside(ay.lo, H), y1 = cell_inside(ay.lo + 1, H);
      const bool x0 = cell_inside(ax.lo, W), x1 = cell_inside(ax.lo + 1, W);
      const int64_t at00 = ay.lo * W + ax.lo;  // only used where inside
      const T f00 = y0 && x0 ? plane[at00] : T(0);
      const T f01 = y0 && x1 ? plane[at00 + 1] : T(0);
      const T f10 = y1 && x0 ? plane[at00 + W] : T(0);
      const T f11 = y1 && x1 ? plane[at00 + W + 1] : T(0);
      const T grad = grad_output[i];
      if (y0 && x0) atomicAdd(grad_plane + at00, grad * (ay.w_lo * ax.w_lo));
      if (y0 && x1) atomicAdd(grad_plane + at00 + 1, grad * (ay.w_lo * ax.w_hi));
      if (y1 && x0) atomicAdd(grad_plane + at00 + W, grad * (ay.w_hi * ax.w_lo));
      if (y1 && x1) atomicAdd(grad_plane + at00 + W + 1, grad * (ay.w_hi * ax.w_hi));
      const acc_t gu = static_cast<acc_t>(grad * bilinear_du(ay, f00, f01, f10, f11));
      const acc_t gv = static_cast<acc_t>(grad * bilinear_dv(ax, f00, f01, f10, f11));
      sx1 += gu * (acc_t(1) - ax.t);
      sx2 += gu * ax.t;
      sy1 += gv * (acc_t(1) - ay.t);
      sy2 += gv * ay.t;
    }
    sx1 = block_sum(sx1, shared);
    sy1 = block_sum(sy1, shared);
    sx2 = block_sum(sx2, shared);
    sy2 = block_sum(sy2, shared);
    if (threadIdx.x == 0) {
      T* g = grad_rois + k * 5;
      atomicAdd(g + 1, static_cast<T>(sx1 * box.dx1));
      atomicAdd(g + 2, static_cast<T>(sy1 * box.dy1));
      atomicAdd(g + 3, static_cast<T>(sx2 * box.dx2));
      atomicAdd(g + 4, static_cast<T>(sy2 * box.dy2));
    }
  }
}

std::tuple<at::Tensor, at::Tensor> roi_warp_forward_cuda(const at::Tensor& features,
                                                          const at::Tensor& rois,
                                                          double spatial_scale, int64_t out_h,
                                                          int64_t out_w, int64_t sampling_ratio) {
  check_roi_warp_args(features, rois, spatial_scale, out_h, out_w, sampling_ratio);
  const c10::cuda::CUDAGuard guard(features.device());
  check_roi_batch_indices("roi_warp", rois, features.size(0));
  const int64_t C = features.size(1), H = features.size(2), W = features.size(3), K = rois.size(0);
  at::Tensor output = at::empty({K, C, out_h, out_w}, features.options());
  at::Tensor argmax = at::empty({K, C, out_h, out_w}, features.options().dtype(at::kInt));
  const int64_t total = output.numel();
  if (total == 0) return {output, argmax};
  const at::Tensor features_c = features.contiguous();
  const at::Tensor rois_c = rois.contiguous();
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_warp_forward_cuda", [&] {
    roi_warp_forward_kernel<scalar_t><<<num_blocks(total), kThreads, 0, stream>>>(
        total, features_c.data_ptr<scalar_t>(), rois_c.data_ptr<scalar_t>(),
        static_cast<scalar_t>(spatial_scale), C, H, W, out_h, out_w, sampling_ratio,
        output.data_ptr<scalar_t>(), argmax.data_ptr<int32_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {output, argmax};
}

std::tuple<at::Tensor, at::Tensor> roi_warp_backward_cuda(const at::Tensor& grad_output,
                                                           const at::Tensor& argmax,
                                                           const at::Tensor& features,
                                                           const at::Tensor& rois,
                                                           double spatial_scale,
                                                           int64_t sampling_ratio) {
  check_roi_warp_backward_args(grad_output, argmax, features, rois, spatial_scale, sampling_ratio);
  const c10::cuda::CUDAGuard guard(features.device());
  check_roi_batch_indices("roi_warp_backward", rois, features.size(0));
  const int64_t samples = sampling_ratio * sampling_ratio;
  TORCH_CHECK_VALUE(argmax.numel() == 0 || (argmax.min().item<int64_t>() >= -1 &&
                                            argmax.max().item<int64_t>() < samples),
                    "roi_warp_backward: argmax holds a sample index outside [-1, ", samples,
                    ") for sampling_ratio ", sampling_ratio);
  const int64_t C = features.size(1), H = features.size(2), W = features.size(3), K = rois.size(0);
  const int64_t PH = grad_output.size(2), PW = grad_output.size(3);
  at::Tensor grad_features = at::zeros_like(features, at::MemoryFormat::Contiguous);
  at::Tensor grad_rois = at::zeros({K, 5}, rois.options());
  const int64_t per_roi = C * PH * PW;
  if (K == 0 || per_roi == 0) return {grad_features, grad_rois};
  const at::Tensor grad_c = grad_output.contiguous();
  const at::Tensor argmax_c = argmax.contiguous();
  const at::Tensor features_c = features.contiguous();
  const at::Tensor rois_c = rois.contiguous();
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((per_roi + kThreads - 1) / kThreads, 1024)),
                  static_cast<unsigned>(std::min<int64_t>(K, 65535)));
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_warp_backward_cuda", [&] {
    roi_warp_backward_kernel<scalar_t><<<grid, kThreads, 0, stream>>>(
        grad_c.data_ptr<scalar_t>(), argmax_c.data_ptr<int32_t>(),
        features_c.data_ptr<scalar_t>(), rois_c.data_ptr<scalar_t>(),
        static_cast<scalar_t>(spatial_scale), K, C, H, W, PH, PW, sampling_ratio,
        grad_features.data_ptr<scalar_t>(), grad_rois.data_ptr<scalar_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {grad_features, grad_rois};
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CUDA, m) {
  m.impl("roi_warp", &roi_warp_forward_cuda);
  m.impl("roi_warp_backward", &roi_warp_backward_cuda);
}

}  // namespace faster_rcnn
