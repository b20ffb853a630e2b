// Schema of the Caffe / py-faster-rcnn RoI max-pooling op (Fast R-CNN §2.1, Faster R-CNN §3.2).
//
// Kernels: cpu/roi_pool_kernel.cpp and cuda/roi_pool_kernel.cu (bin arithmetic in
// roi_pool_geometry.h). The fake (meta) kernels and the autograd formula are registered from Python
// (faster_rcnn_ops/roi_pool.py) with torch.library; the namespace is defined in ops.cpp.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(faster_rcnn, m) {
  // output[k, c, ph, pw] = max of features[batch(k), c] over bin (ph, pw) of RoI k;
  // argmax[k, c, ph, pw] = h * W + w of that maximum inside the H x W plane, or -1 for an empty bin.
  m.def(
      "roi_pool(Tensor features, Tensor rois, float spatial_scale, int pooled_height, "
      "int pooled_width) -> (Tensor output, Tensor argmax)");
  // Gradient w.r.t. features: each output gradient is added at its argmax (nothing for argmax -1).
  m.def(
      "roi_pool_backward(Tensor grad_output, Tensor argmax, Tensor rois, int batch_size, "
      "int channels, int height, int width) -> Tensor");
}
