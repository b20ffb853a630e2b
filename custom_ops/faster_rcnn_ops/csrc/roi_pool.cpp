// Schema of the Caffe / py-faster-rcnn RoI max-pooling op (Fast R-CNN §2.1, Faster R-CNN §3.2).
//
// The schema lives here, once; each backend registers its kernels with TORCH_LIBRARY_IMPL in
// cpu/roi_pool_kernel.cpp and cuda/roi_pool_kernel.cu. The fake (meta) kernels and the autograd
// formula are registered from Python (faster_rcnn_ops/roi_pool.py) with torch.library.
#include <Python.h>
#include <torch/library.h>

extern "C" {
// `import faster_rcnn_ops._C` loads this library, and with it the TORCH_LIBRARY registrations below;
// the module itself is empty (no pybind11: everything is reached through torch.ops.faster_rcnn).
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT, "_C", "Compiled kernels of faster_rcnn_ops (see torch.ops.faster_rcnn).",
      -1, nullptr};
  return PyModule_Create(&module_def);
}
}

TORCH_LIBRARY(faster_rcnn, m) {
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
