// SIMD vectors shared by the CPU kernels through GCC / Clang vector extensions, with an integer
// vector of the same lane width for comparison masks and argmax indices.
//
// SimdOf<T, Bytes>: vectors of `Bytes` bytes. Simd<T> (16 bytes: SSE2 on x86-64, NEON on Arm) is
// what every x86-64 / Arm CPU runs. A kernel can also be compiled for wider vectors — 32 bytes
// (AVX2) and 64 bytes (AVX-512) — in functions marked FASTER_RCNN_TARGET_AVX2 / _AVX512 that call
// FASTER_RCNN_ALWAYS_INLINE templates (so that those are compiled for the wider target too), and
// pick one at run time with simd_isa(), which follows torch's own choice (at::get_cpu_capability(),
// so the ATEN_CPU_CAPABILITY=default|avx2|avx512 environment variable forces a narrower path).
#pragma once

#include <ATen/Version.h>

#include <cstdint>
#include <string>

namespace faster_rcnn {

template <typename T>
struct SimdIndex;
template <>
struct SimdIndex<float> {
  typedef int32_t type;
};
template <>
struct SimdIndex<double> {
  typedef int64_t type;
};

template <typename T, int Bytes>
struct SimdOf {
  typedef T Vec __attribute__((vector_size(Bytes)));
  typedef typename SimdIndex<T>::type Index;
  typedef Index Mask __attribute__((vector_size(Bytes)));
  static constexpr int64_t kLanes = Bytes / sizeof(T);
};

template <typename T>
using Simd = SimdOf<T, 16>;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FASTER_RCNN_WIDE_SIMD 1
#define FASTER_RCNN_TARGET_AVX2 __attribute__((target("avx2")))
#define FASTER_RCNN_TARGET_AVX512 __attribute__((target("avx512f")))
#else
#define FASTER_RCNN_WIDE_SIMD 0
#endif
#define FASTER_RCNN_ALWAYS_INLINE inline __attribute__((always_inline))

enum class SimdIsa { kBase, kAvx2, kAvx512 };

// The widest vectors torch itself uses on this CPU (read once).
inline SimdIsa simd_isa() {
#if FASTER_RCNN_WIDE_SIMD
  static const SimdIsa isa = [] {
    const std::string capability = at::get_cpu_capability();
    if (capability == "AVX512") return SimdIsa::kAvx512;
    if (capability == "AVX2") return SimdIsa::kAvx2;
    return SimdIsa::kBase;
  }();
  return isa;
#else
  return SimdIsa::kBase;
#endif
}

}  // namespace faster_rcnn
