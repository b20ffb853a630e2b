// 16-byte SIMD vectors shared by the CPU kernels (SSE2 on x86-64, NEON on Arm) through GCC / Clang
// vector extensions, with an integer vector of the same lane width for comparison masks and argmax
// indices.
#pragma once

#include <cstdint>

namespace faster_rcnn {

template <typename T>
struct Simd;
template <>
struct Simd<float> {
  typedef float Vec __attribute__((vector_size(16)));
  typedef int32_t Index;
  typedef Index Mask __attribute__((vector_size(16)));
};
template <>
struct Simd<double> {
  typedef double Vec __attribute__((vector_size(16)));
  typedef int64_t Index;
  typedef Index Mask __attribute__((vector_size(16)));
};

}  // namespace faster_rcnn
