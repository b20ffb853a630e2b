// Schema of Caffe's within-channel local response normalisation (LRNLayer, norm_region:
// WITHIN_CHANNEL), the LRN of ZF-net's conv1 and conv2 (py-faster-rcnn models/pascal_voc/ZF).
//
// With r = (size - 1) / 2 and the mean taken over the size x size window around each element, zero
// padding counted in the window (Caffe's AVE pooling with pad r):
//   s = 1 + alpha * mean(x^2),   y = x * s^-beta.
// Kernel: cpu/within_channel_lrn_kernel.cpp (CPU only: faster_rcnn_paper's WithinChannelLRN
// computes the same formula with PyTorch ops on other devices). The fake (meta) kernels and the
// autograd formula are registered from Python (faster_rcnn_ops/within_channel_lrn.py); the
// namespace is defined in ops.cpp.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(faster_rcnn, m) {
  // input (N, C, H, W); size a positive odd number. Output of input's shape, in channels-last
  // layout when input is channels-last (and not also contiguous), contiguous otherwise.
  m.def("within_channel_lrn(Tensor input, int size, float alpha, float beta) -> Tensor");
  // Gradient w.r.t. input, Caffe's closed form (LRNLayer::WithinChannelBackward):
  //   dx = dy * s^-beta - (2 * alpha * beta / size^2) * x * window_sum(dy * x * s^(-beta-1)),
  // s recomputed from input (no tensor is kept from the forward pass but the input itself).
  m.def(
      "within_channel_lrn_backward(Tensor grad_output, Tensor input, int size, float alpha, "
      "float beta) -> Tensor");
}
