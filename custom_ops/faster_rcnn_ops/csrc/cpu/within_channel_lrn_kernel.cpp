// CPU kernels of faster_rcnn::within_channel_lrn, Caffe's within-channel LRN (see
// ../within_channel_lrn.cpp).
//
// Both layouts run one loop nest. A tensor is read as [planes][H][W][lanes], the lanes of a cell
// contiguous: channels-last (N, H, W, C) is N planes of C lanes, contiguous (N, C, H, W) is N * C
// planes of 1 lane. A row of a plane is then W * lanes contiguous values and the window neighbour
// dw of value j is value j + dw * lanes of the same row, so every inner loop runs over a contiguous
// range and vectorises (across channels in channels-last, across columns otherwise). Any other
// strides are made contiguous first.
//
// Window sums (window_sums) go a tile of kTile values of a row at a time: first the sum over the
// size rows of each column, then the sum of size column sums; a row outside the plane is a row of
// zeros and so is a column outside the row (zero padding, counted in the mean). The squares are
// recomputed from x, which is read from cache, rather than stored.
//
// Forward, one pass over x: y = x * (1 + alpha / size^2 * sum(x^2))^-beta, rows split over threads
// with at::parallel_for.
//
// Backward, one pass over x and dy: a thread takes a contiguous range of rows and walks down it,
// keeping a ring of the last size rows of t = dy * s^-beta * x / s and of g = dy * s^-beta (s
// recomputed from x as in the forward pass); once the rows below row h are in the ring,
//   dx[h] = g[h] - (2 * alpha * beta / size^2) * sum(t) * x[h].
// Only the r = size / 2 rows of t above a thread's range are computed twice (by the thread above).
//
// The time goes to the divider (three divisions / square roots per value, for beta = 0.75) and to
// memory (the tensors are tens of MB); each tile's element-wise loop prefetches the next tile
// (prefetch), so that the two overlap. (Walking a plane in column strips, so that the backward ring
// stays in L1 / L2 for long channels-last rows, measured slower than whole rows.)
//
// Arithmetic: a sum times alpha / size^2 plus 1; s^-0.75 = rsqrt(s) * sqrt(rsqrt(s)), 1 / s =
// rsqrt(s)^2, rsqrt(s) = 1 / sqrt(s) (any other beta: std::pow and a division); each operation
// IEEE-rounded on its own (setup.py builds with -ffp-contract=off: no fused multiply-add). The
// results are the same in both layouts (the same sums in the same order), for every vector width
// (simd.h: 64-, 32- or 16-byte vectors, as torch picks) and every thread count, and differ from
// faster_rcnn_paper's pure-PyTorch formula by float rounding only (the order of the operations;
// torch 2.13's CPU float32 sqrt is not always the nearest float).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../within_channel_lrn_checks.h"
#include "simd.h"

namespace faster_rcnn {
namespace {

// Values of a row handled per tile: a tile's column sums and window sums stay in L1.
constexpr int64_t kTile = 2048;
// The element-wise loop of a tile goes kChunk values at a time, each chunk preceded by the
// prefetches of its cache lines of the next tile (kLineBytes each).
constexpr int64_t kChunk = 64;
constexpr int64_t kLineBytes = 64;
// At least this many values per parallel task (smaller inputs run on the calling thread).
constexpr int64_t kMinValuesPerTask = 1 << 15;
// The window radius the loops are compiled for (ZF's 3 x 3); any other radius runs the same
// arithmetic in loops over a run-time radius (kAnyRadius).
constexpr int kZFRadius = 1;
constexpr int kAnyRadius = -1;

// What every task reads and writes; a tensor is [planes][H][W][lanes] (see above).
template <typename T>
struct LrnArgs {
  int64_t planes, H, W, lanes, radius, total;
  T alpha;  // alpha / size^2 (a mean's alpha)
  T beta;   // beta
  T slope;  // 2 * alpha * beta / size^2
  const T* x;
  const T* dy;  // backward only
  T* out;
};

// The buffers of one task: the 2r + 1 row pointers of a window, a row of zeros standing for the
// rows outside the plane (zero padding), a tile's column sums (widened by r cells on either side)
// and window sums.
template <typename T>
struct TileBuffers {
  std::vector<const T*> rows;
  std::vector<T> zeros, columns, sums;

  explicit TileBuffers(const LrnArgs<T>& a)
      : rows(2 * a.radius + 1),
        zeros(a.W * a.lanes, T(0)),
        columns(std::min(kTile, a.W * a.lanes) + 2 * a.radius * a.lanes),
        sums(std::min(kTile, a.W * a.lanes)) {}
};

template <int Radius, typename T>
FASTER_RCNN_ALWAYS_INLINE int64_t radius_of(const LrnArgs<T>& a) {
  return Radius >= 0 ? Radius : a.radius;
}

// Points b.rows[i] at row h - r + i of `plane` (row_of(hh)), or at b.zeros outside the plane.
template <int Radius, typename T, typename RowOf>
FASTER_RCNN_ALWAYS_INLINE void window_rows(const LrnArgs<T>& a, int64_t h, const RowOf& row_of,
                                           TileBuffers<T>& b) {
  const int64_t r = radius_of<Radius>(a);
  for (int64_t i = 0; i <= 2 * r; ++i) {
    const int64_t hh = h - r + i;
    b.rows[i] = hh >= 0 && hh < a.H ? row_of(hh) : b.zeros.data();
  }
}

// b.sums[j - j0] = the sum of f(v) over the window around value j, for j in [j0, j1) of the rows in
// b.rows (f squares when `Square`): first each column's sum over the 2r + 1 rows, at the positions
// of the tile widened by r cells on either side (zero outside the row: zero padding), then the sum
// of the 2r + 1 column sums around each value, both in increasing row / column order.
template <typename T, int Radius, bool Square>
FASTER_RCNN_ALWAYS_INLINE void window_sums(const LrnArgs<T>& a, int64_t j0, int64_t j1,
                                           TileBuffers<T>& b) {
  const int64_t r = radius_of<Radius>(a), k = 2 * r + 1, lanes = a.lanes;
  const int64_t length = a.W * lanes, n = j1 - j0;
  // columns[q] holds position j0 - r * lanes + q; the positions of the row are [q0, q1).
  const int64_t q0 = std::max<int64_t>(0, r * lanes - j0);
  const int64_t q1 = std::min(n + 2 * r * lanes, length - j0 + r * lanes);
  const int64_t first = j0 - r * lanes;  // position of columns[0]
  T* __restrict__ columns = b.columns.data();
  T* __restrict__ sums = b.sums.data();
  std::fill(columns, columns + q0, T(0));
  std::fill(columns + q1, columns + n + 2 * r * lanes, T(0));
  if constexpr (Radius >= 0) {  // one pass each, the 2r + 1 terms unrolled
    const T* rows[2 * Radius + 1];
    for (int64_t i = 0; i < k; ++i) rows[i] = b.rows[i];
    for (int64_t q = q0; q < q1; ++q) {
      T sum = T(0);
      for (int64_t i = 0; i < k; ++i) {
        const T v = rows[i][first + q];
        sum += Square ? v * v : v;
      }
      columns[q] = sum;
    }
    for (int64_t j = 0; j < n; ++j) {
      T sum = T(0);
      for (int64_t i = 0; i < k; ++i) sum += columns[j + i * lanes];
      sums[j] = sum;
    }
  } else {  // one pass per term
    std::fill(columns + q0, columns + q1, T(0));
    for (int64_t i = 0; i < k; ++i) {
      const T* __restrict__ row = b.rows[i];
      for (int64_t q = q0; q < q1; ++q) {
        const T v = row[first + q];
        columns[q] += Square ? v * v : v;
      }
    }
    std::fill(sums, sums + n, T(0));
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < n; ++j) sums[j] += columns[j + i * lanes];
    }
  }
}

// s^-beta and 1 / s. beta = 0.75 (ZF's): rsqrt(s) * sqrt(rsqrt(s)) and rsqrt(s)^2 with rsqrt(s) =
// 1 / sqrt(s), three divider operations in all, which vectorise; any other beta: std::pow, which
// does not.
template <typename T>
struct PowerTerms {
  T inverse_power, reciprocal;
};

template <typename T, bool ThreeQuarters>
FASTER_RCNN_ALWAYS_INLINE PowerTerms<T> power_terms(T s, T beta) {
  if (ThreeQuarters) {
    const T inverse = T(1) / std::sqrt(s);
    return {inverse * std::sqrt(inverse), inverse * inverse};
  }
  return {std::pow(s, -beta), T(1) / s};
}

// Asks for the cache lines of data[offset + q], q in [c, ce), for reading (or writing, `Write`);
// indices outside [0, total) are skipped. The kernels ask for the next tile of the rows they
// stream while the divider works on this tile, so that the memory traffic and the arithmetic
// overlap (the hardware prefetchers alone leave the first loop of each tile waiting for memory).
template <bool Write, typename T>
FASTER_RCNN_ALWAYS_INLINE void prefetch(const T* data, int64_t offset, int64_t c, int64_t ce,
                                        int64_t total) {
  for (int64_t q = c; q < ce; q += kLineBytes / static_cast<int64_t>(sizeof(T))) {
    const int64_t i = offset + q;
    if (i >= 0 && i < total) __builtin_prefetch(data + i, Write ? 1 : 0);
  }
}

// Output rows [begin, end) of all planes (row index = plane * H + h).
template <typename T, int Radius, bool ThreeQuarters>
FASTER_RCNN_ALWAYS_INLINE void forward_rows(const LrnArgs<T>& a, int64_t begin, int64_t end) {
  const int64_t r = radius_of<Radius>(a);
  const int64_t length = a.W * a.lanes;
  TileBuffers<T> b(a);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t h = row % a.H;
    const T* plane = a.x + (row - h) * length;
    const T* x = plane + h * length;
    T* y = a.out + row * length;
    window_rows<Radius>(a, h, [&](int64_t hh) { return plane + hh * length; }, b);
    for (int64_t j0 = 0; j0 < length; j0 += kTile) {
      const int64_t j1 = std::min(length, j0 + kTile);
      window_sums<T, Radius, true>(a, j0, j1, b);
      const T* sums = b.sums.data();
      for (int64_t c = j0; c < j1; c += kChunk) {
        const int64_t ce = std::min(j1, c + kChunk);
        // the next tile: of the window's last row (the one row not yet read) and of y
        prefetch<false>(a.x, (row + r) * length + kTile, c, ce, a.total);
        prefetch<true>(a.out, row * length + kTile, c, ce, a.total);
        for (int64_t j = c; j < ce; ++j) {
          const T s = sums[j - j0] * a.alpha + T(1);
          y[j] = x[j] * power_terms<T, ThreeQuarters>(s, a.beta).inverse_power;
        }
      }
    }
  }
}

// Rows [h_begin, h_end) of the gradient of plane p. `ring` holds 2 * slots rows: t of row hh at
// slot hh % slots, g of row hh at slot slots + hh % slots (slots = min(size, H): the rows of one
// window are distinct modulo slots).
template <typename T, int Radius, bool ThreeQuarters>
FASTER_RCNN_ALWAYS_INLINE void backward_plane_rows(const LrnArgs<T>& a, int64_t p, int64_t h_begin,
                                                   int64_t h_end, int64_t slots, T* ring,
                                                   TileBuffers<T>& b) {
  const int64_t r = radius_of<Radius>(a);
  const int64_t length = a.W * a.lanes;
  const int64_t first_row = p * a.H;  // row index of the plane's row 0
  const T* x_plane = a.x + first_row * length;
  auto x_row = [&](int64_t hh) { return x_plane + hh * length; };
  auto t_row = [&](int64_t hh) { return ring + (hh % slots) * length; };
  auto g_row = [&](int64_t hh) { return ring + (slots + hh % slots) * length; };
  int64_t next = std::max<int64_t>(0, h_begin - r);  // the next row of t and g to compute
  for (int64_t h = h_begin; h < h_end; ++h) {
    for (const int64_t last = std::min(a.H, h + r + 1); next < last; ++next) {
      const T* x = x_row(next);
      const T* dy = a.dy + (first_row + next) * length;
      T* t = t_row(next);
      T* g = g_row(next);
      window_rows<Radius>(a, next, x_row, b);
      for (int64_t j0 = 0; j0 < length; j0 += kTile) {
        const int64_t j1 = std::min(length, j0 + kTile);
        window_sums<T, Radius, true>(a, j0, j1, b);
        const T* sums = b.sums.data();
        for (int64_t c = j0; c < j1; c += kChunk) {
          const int64_t ce = std::min(j1, c + kChunk);
          // the next tile of the window's last row of x and of dy; this tile of dx's row next - r,
          // written next (when it is this task's)
          prefetch<false>(a.x, (first_row + next + r) * length + kTile, c, ce, a.total);
          prefetch<false>(a.dy, (first_row + next) * length + kTile, c, ce, a.total);
          if (next - r >= h_begin) {
            prefetch<true>(a.out, (first_row + next - r) * length, c, ce, a.total);
          }
          for (int64_t j = c; j < ce; ++j) {
            const T s = sums[j - j0] * a.alpha + T(1);
            const PowerTerms<T> terms = power_terms<T, ThreeQuarters>(s, a.beta);
            const T grad = dy[j] * terms.inverse_power;
            g[j] = grad;
            t[j] = grad * x[j] * terms.reciprocal;
          }
        }
      }
    }
    const T* x = x_row(h);
    const T* g = g_row(h);
    T* dx = a.out + (first_row + h) * length;
    window_rows<Radius>(a, h, t_row, b);
    for (int64_t j0 = 0; j0 < length; j0 += kTile) {
      const int64_t j1 = std::min(length, j0 + kTile);
      window_sums<T, Radius, false>(a, j0, j1, b);
      const T* sums = b.sums.data();
      for (int64_t j = j0; j < j1; ++j) {
        dx[j] = g[j] - sums[j - j0] * x[j] * a.slope;
      }
    }
  }
}

// Gradient rows [begin, end) of all planes (row index = plane * H + h), walked plane by plane.
template <typename T, int Radius, bool ThreeQuarters>
FASTER_RCNN_ALWAYS_INLINE void backward_rows(const LrnArgs<T>& a, int64_t begin, int64_t end) {
  const int64_t slots = std::min(2 * a.radius + 1, a.H);
  std::vector<T> ring(2 * slots * a.W * a.lanes);
  TileBuffers<T> b(a);
  for (int64_t row = begin; row < end;) {
    const int64_t p = row / a.H, h = row % a.H;
    const int64_t h_end = std::min(a.H, h + (end - row));
    backward_plane_rows<T, Radius, ThreeQuarters>(a, p, h, h_end, slots, ring.data(), b);
    row += h_end - h;
  }
}

template <typename T, int Radius, bool ThreeQuarters, bool Backward>
FASTER_RCNN_ALWAYS_INLINE void rows(const LrnArgs<T>& a, int64_t begin, int64_t end) {
  if constexpr (Backward) {
    backward_rows<T, Radius, ThreeQuarters>(a, begin, end);
  } else {
    forward_rows<T, Radius, ThreeQuarters>(a, begin, end);
  }
}

// rows compiled for each vector width; run_rows_with picks the widest the CPU runs.
template <typename T, int Radius, bool ThreeQuarters, bool Backward>
void rows_base(const LrnArgs<T>& a, int64_t begin, int64_t end) {
  rows<T, Radius, ThreeQuarters, Backward>(a, begin, end);
}
#if FASTER_RCNN_WIDE_SIMD
template <typename T, int Radius, bool ThreeQuarters, bool Backward>
FASTER_RCNN_TARGET_AVX2 void rows_avx2(const LrnArgs<T>& a, int64_t begin, int64_t end) {
  rows<T, Radius, ThreeQuarters, Backward>(a, begin, end);
}
template <typename T, int Radius, bool ThreeQuarters, bool Backward>
FASTER_RCNN_TARGET_AVX512 void rows_avx512(const LrnArgs<T>& a, int64_t begin, int64_t end) {
  rows<T, Radius, ThreeQuarters, Backward>(a, begin, end);
}
#endif

// Splits the rows of all planes over threads (contiguous ranges: a backward task recomputes only
// the r rows of t above its range).
template <typename T, int Radius, bool ThreeQuarters, bool Backward>
void run_rows_with(const LrnArgs<T>& a) {
  void (*task)(const LrnArgs<T>&, int64_t, int64_t) =
      &rows_base<T, Radius, ThreeQuarters, Backward>;
#if FASTER_RCNN_WIDE_SIMD
  if (simd_isa() == SimdIsa::kAvx512) task = &rows_avx512<T, Radius, ThreeQuarters, Backward>;
  if (simd_isa() == SimdIsa::kAvx2) task = &rows_avx2<T, Radius, ThreeQuarters, Backward>;
#endif
  const int64_t length = a.W * a.lanes;
  const int64_t grain = std::max<int64_t>(1, kMinValuesPerTask / std::max<int64_t>(1, length));
  at::parallel_for(0, a.planes * a.H, grain,
                   [&](int64_t begin, int64_t end) { task(a, begin, end); });
}

// ZF's window (3 x 3) and beta (0.75, decided on the double the caller gave) take the loops
// compiled for them.
template <typename T, bool Backward>
void run_rows(const LrnArgs<T>& a, double beta) {
  const bool zf_window = a.radius == kZFRadius;
  if (beta == 0.75) {
    zf_window ? run_rows_with<T, kZFRadius, true, Backward>(a)
              : run_rows_with<T, kAnyRadius, true, Backward>(a);
  } else {
    zf_window ? run_rows_with<T, kZFRadius, false, Backward>(a)
              : run_rows_with<T, kAnyRadius, false, Backward>(a);
  }
}

// The layout the kernels read `input` in: channels-last when it is so (and not also contiguous,
// as a tensor with one channel or one cell is), contiguous otherwise. The output takes it too.
at::MemoryFormat kernel_layout(const at::Tensor& input) {
  return input.is_contiguous(at::MemoryFormat::ChannelsLast) && !input.is_contiguous()
             ? at::MemoryFormat::ChannelsLast
             : at::MemoryFormat::Contiguous;
}

template <typename T>
LrnArgs<T> make_args(const at::Tensor& input, at::MemoryFormat layout, int64_t size, double alpha,
                     double beta) {
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const bool channels_last = layout == at::MemoryFormat::ChannelsLast;
  const double area = static_cast<double>(size) * static_cast<double>(size);
  return LrnArgs<T>{channels_last ? N : N * C,
                    H,
                    W,
                    channels_last ? C : 1,
                    (size - 1) / 2,
                    input.numel(),
                    static_cast<T>(alpha / area),
                    static_cast<T>(beta),
                    static_cast<T>(2.0 * alpha * beta / area),
                    nullptr,
                    nullptr,
                    nullptr};
}

at::Tensor within_channel_lrn_cpu(const at::Tensor& input, int64_t size, double alpha,
                                  double beta) {
  check_within_channel_lrn_args("within_channel_lrn", input, size);
  const at::MemoryFormat layout = kernel_layout(input);
  const at::Tensor x = input.contiguous(layout);
  at::Tensor output = at::empty_like(x, layout);
  if (x.numel() == 0) return output;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "within_channel_lrn_cpu", [&] {
    LrnArgs<scalar_t> a = make_args<scalar_t>(x, layout, size, alpha, beta);
    a.x = x.data_ptr<scalar_t>();
    a.out = output.data_ptr<scalar_t>();
    run_rows<scalar_t, false>(a, beta);
  });
  return output;
}

at::Tensor within_channel_lrn_backward_cpu(const at::Tensor& grad_output, const at::Tensor& input,
                                           int64_t size, double alpha, double beta) {
  check_within_channel_lrn_backward_args(grad_output, input, size);
  const at::MemoryFormat layout = kernel_layout(input);
  const at::Tensor x = input.contiguous(layout);
  const at::Tensor dy = grad_output.contiguous(layout);
  at::Tensor grad_input = at::empty_like(x, layout);
  if (x.numel() == 0) return grad_input;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "within_channel_lrn_backward_cpu", [&] {
    LrnArgs<scalar_t> a = make_args<scalar_t>(x, layout, size, alpha, beta);
    a.x = x.data_ptr<scalar_t>();
    a.dy = dy.data_ptr<scalar_t>();
    a.out = grad_input.data_ptr<scalar_t>();
    run_rows<scalar_t, true>(a, beta);
  });
  return grad_input;
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CPU, m) {
  m.impl("within_channel_lrn", &within_channel_lrn_cpu);
  m.impl("within_channel_lrn_backward", &within_channel_lrn_backward_cpu);
}

}  // namespace faster_rcnn
