// CUDA kernel of faster_rcnn::nms (see ../nms.cpp): the same decisions as cpu/nms_kernel.cpp.
// Compiled only when CUDA is available (or FORCE_CUDA=1).
//
// Boxes are sorted by score (stable, so ties keep their input order). The GPU then computes, for
// every box i of the sorted list, a bit mask of the later boxes j that box i would suppress (IoU >
// threshold, +offset areas): one thread per box i, 64 boxes j per block, one 64-bit word each. The
// greedy pass over the sorted boxes — keep a box unless a kept box suppresses it, stop at
// `max_output` kept — is then a sequential scan of those words on the host. Box i suppresses box j
// in the mask exactly when the CPU kernel would (same arithmetic, in the boxes' dtype, with
// products rounded on their own so that nvcc cannot fuse them into the additions), so both
// backends keep the same boxes.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <cstdint>
#include <vector>

#include "../nms_checks.h"

namespace faster_rcnn {
namespace {

constexpr int kBoxesPerWord = 64;  // boxes j per block and bits per mask word
constexpr int64_t kMaxBlocksPerDim = 65535;

__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }

// std::min / std::max as the CPU kernel calls them (same result for NaN arguments).
template <typename T>
__device__ inline T min_of(T a, T b) {
  return (b < a) ? b : a;
}
template <typename T>
__device__ inline T max_of(T a, T b) {
  return (a < b) ? b : a;
}

template <typename T>
__device__ inline T box_area(const T* box, T off) {
  return mul_rn(box[2] - box[0] + off, box[3] - box[1] + off);
}

// Whether kept box `a` suppresses box `b` (the CPU kernel's test, operand for operand).
template <typename T>
__device__ inline bool suppresses(const T* a, T area_a, const T* b, T thr, T off) {
  const T w = min_of(a[2], b[2]) - max_of(a[0], b[0]) + off;
  const T h = min_of(a[3], b[3]) - max_of(a[1], b[1]) + off;
  if (w <= 0 || h <= 0) return false;
  const T inter = mul_rn(w, h);
  return inter > mul_rn(thr, area_a + box_area(b, off) - inter);  // IoU > threshold
}

// mask[i * words + word] bit c: sorted box i suppresses sorted box word * 64 + c (only for boxes
// after i; words before i's own are not written, the host scan does not read them).
template <typename T>
__global__ void nms_mask_kernel(int64_t n, const T* __restrict__ boxes, T thr, T off,
                                uint64_t* __restrict__ mask) {
  const int64_t row_block = blockIdx.y;
  const int64_t col_block = blockIdx.x;
  if (row_block > col_block) return;
  const int64_t words = gridDim.x;
  const int64_t row_start = row_block * kBoxesPerWord;
  const int64_t col_start = col_block * kBoxesPerWord;
  const int rows = static_cast<int>(min_of<int64_t>(n - row_start, kBoxesPerWord));
  const int cols = static_cast<int>(min_of<int64_t>(n - col_start, kBoxesPerWord));
  const int t = static_cast<int>(threadIdx.x);

  __shared__ T col_boxes[kBoxesPerWord * 4];
  if (t < cols) {
    for (int k = 0; k < 4; ++k) col_boxes[t * 4 + k] = boxes[(col_start + t) * 4 + k];
  }
  __syncthreads();
  if (t >= rows) return;

  const int64_t i = row_start + t;
  const T* box = boxes + i * 4;
  const T area = box_area(box, off);
  uint64_t bits = 0;
  for (int c = (row_block == col_block) ? t + 1 : 0; c < cols; ++c) {
    if (suppresses(box, area, col_boxes + c * 4, thr, off)) bits |= uint64_t{1} << c;
  }
  mask[i * words + col_block] = bits;
}

at::Tensor nms_cuda(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold,
                    int64_t offset, int64_t max_output) {
  check_nms_args(boxes, scores, iou_threshold, offset);
  const c10::cuda::CUDAGuard guard(boxes.device());
  const int64_t n = boxes.size(0);
  if (n == 0 || max_output == 0) return at::empty({0}, boxes.options().dtype(at::kLong));
  const int64_t words = (n + kBoxesPerWord - 1) / kBoxesPerWord;
  TORCH_CHECK_VALUE(words <= kMaxBlocksPerDim, "nms: at most ", kMaxBlocksPerDim * kBoxesPerWord,
                    " boxes on CUDA, got ", n);
  const at::Tensor order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const at::Tensor sorted = boxes.index_select(0, order).contiguous();
  at::Tensor mask = at::empty({n, words}, boxes.options().dtype(at::kLong));
  const dim3 grid(static_cast<unsigned>(words), static_cast<unsigned>(words));
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "nms_cuda", [&] {
    nms_mask_kernel<scalar_t><<<grid, kBoxesPerWord, 0, stream>>>(
        n, sorted.data_ptr<scalar_t>(), static_cast<scalar_t>(iou_threshold),
        static_cast<scalar_t>(offset), reinterpret_cast<uint64_t*>(mask.data_ptr<int64_t>()));
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();

  // The greedy pass, in score order, on the host (mask.cpu() waits for the kernel).
  const at::Tensor mask_cpu = mask.cpu();
  const uint64_t* rows = reinterpret_cast<const uint64_t*>(mask_cpu.data_ptr<int64_t>());
  std::vector<uint64_t> removed(words, 0);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t word = i / kBoxesPerWord;
    if ((removed[word] >> (i % kBoxesPerWord)) & 1) continue;
    keep.push_back(i);
    if (max_output > 0 && static_cast<int64_t>(keep.size()) == max_output) break;
    const uint64_t* row = rows + i * words;
    for (int64_t w = word; w < words; ++w) removed[w] |= row[w];
  }
  const at::Tensor kept = at::tensor(keep, order.options().device(at::kCPU)).to(order.device());
  return order.index_select(0, kept);
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CUDA, m) { m.impl("nms", &nms_cuda); }

}  // namespace faster_rcnn
