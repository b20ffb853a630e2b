// Schema of the RoI warping op (Dai et al., MNC, CVPR 2016), the RoI pooling that is differentiable
// w.r.t. the box coordinates, for Faster R-CNN §3.2's "non-approximate joint training" (option iii).
//
// The box region of the feature map is sampled bilinearly on a (out_h * r) x (out_w * r) grid and
// each r x r group of samples is max-pooled (r = sampling_ratio; MNC warps to twice the output size
// and max-pools 2 x 2, r = 2). The exact semantics are in roi_warp_geometry.h. Kernels:
// cpu/roi_warp_kernel.cpp and cuda/roi_warp_kernel.cu; fake kernels and the autograd formula are
// registered from Python (faster_rcnn_ops/roi_warp.py).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(faster_rcnn, m) {
  // output[k, c, ph, pw] = max over the r x r samples of bin (ph, pw) of RoI k on features[batch(k), c];
  // argmax[k, c, ph, pw] = iy * r + ix of the (first) winning sample, -1 for a RoI with a NaN coordinate.
  m.def(
      "roi_warp(Tensor features, Tensor rois, float spatial_scale, int out_h, int out_w, "
      "int sampling_ratio) -> (Tensor output, Tensor argmax)");
  // Gradients w.r.t. features (the winning sample's four bilinear neighbours, with its weights) and
  // w.r.t. rois (through the winning sample's position; zero for the batch-index column).
  m.def(
      "roi_warp_backward(Tensor grad_output, Tensor argmax, Tensor features, Tensor rois, "
      "float spatial_scale, int sampling_ratio) -> (Tensor grad_features, Tensor grad_rois)");
}
