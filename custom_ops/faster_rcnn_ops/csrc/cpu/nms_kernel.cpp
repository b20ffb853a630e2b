// CPU kernel of faster_rcnn::nms (see ../nms.cpp). Boxes are sorted by score (stable, so ties keep
// their input order), then each kept box suppresses the later boxes it overlaps by more than the
// threshold; the scan stops as soon as `max_output` boxes are kept. cuda/nms_kernel.cu makes the
// same decisions with the same arithmetic.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../nms_checks.h"

namespace faster_rcnn {
namespace {

at::Tensor nms_cpu(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold,
                   int64_t offset, int64_t max_output) {
  check_nms_args(boxes, scores, iou_threshold, offset);
  const int64_t n = boxes.size(0);
  if (n == 0 || max_output == 0) return at::empty({0}, boxes.options().dtype(at::kLong));
  const at::Tensor order_t = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const int64_t* order = order_t.data_ptr<int64_t>();
  const at::Tensor b = boxes.contiguous();
  std::vector<int64_t> keep;
  keep.reserve(max_output > 0 ? std::min(max_output, n) : n);
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "nms_cpu", [&] {
    const scalar_t* p = b.data_ptr<scalar_t>();
    const scalar_t off = static_cast<scalar_t>(offset);
    std::vector<scalar_t> area(n);
    for (int64_t i = 0; i < n; ++i) {
      area[i] = (p[4 * i + 2] - p[4 * i] + off) * (p[4 * i + 3] - p[4 * i + 1] + off);
    }
    std::vector<uint8_t> suppressed(n, 0);
    const scalar_t thr = static_cast<scalar_t>(iou_threshold);
    for (int64_t oi = 0; oi < n; ++oi) {
      const int64_t i = order[oi];
      if (suppressed[i]) continue;
      keep.push_back(i);
      if (max_output > 0 && static_cast<int64_t>(keep.size()) == max_output) break;
      const scalar_t ix1 = p[4 * i], iy1 = p[4 * i + 1], ix2 = p[4 * i + 2], iy2 = p[4 * i + 3];
      for (int64_t oj = oi + 1; oj < n; ++oj) {
        const int64_t j = order[oj];
        if (suppressed[j]) continue;
        const scalar_t w = std::min(ix2, p[4 * j + 2]) - std::max(ix1, p[4 * j]) + off;
        const scalar_t h = std::min(iy2, p[4 * j + 3]) - std::max(iy1, p[4 * j + 1]) + off;
        if (w <= 0 || h <= 0) continue;
        const scalar_t inter = w * h;
        if (inter > thr * (area[i] + area[j] - inter)) suppressed[j] = 1;  // IoU > threshold
      }
    }
  });
  return at::tensor(keep, boxes.options().dtype(at::kLong));
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CPU, m) { m.impl("nms", &nms_cpu); }

}  // namespace faster_rcnn
