// The compiled library of faster_rcnn_ops: the Python module `faster_rcnn_ops._C` and the
// `torch.ops.faster_rcnn` operator namespace.
//
// The namespace is defined here, once. Each op declares its schema as a TORCH_LIBRARY_FRAGMENT in
// its own file (roi_pool.cpp, roi_warp.cpp, nms.cpp), next to the documentation of its semantics;
// each backend registers its kernels with TORCH_LIBRARY_IMPL(faster_rcnn, CPU|CUDA, m) in
// cpu/<op>_kernel.cpp and cuda/<op>_kernel.cu. Fake (meta) kernels and autograd formulas are
// registered from Python (faster_rcnn_ops/<op>.py) with torch.library.
#include <Python.h>
#include <torch/library.h>

extern "C" {
// `import faster_rcnn_ops._C` loads this library, and with it every TORCH_LIBRARY registration in
// it; the module itself is empty (no pybind11: everything is reached through torch.ops.faster_rcnn).
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT, "_C", "Compiled kernels of faster_rcnn_ops (see torch.ops.faster_rcnn).",
      -1, nullptr};
  return PyModule_Create(&module_def);
}
}

// Claims the namespace: a second library defining `faster_rcnn` fails to load instead of mixing
// its operators with ours. The operators are the fragments of the op files.
TORCH_LIBRARY(faster_rcnn, m) {}
