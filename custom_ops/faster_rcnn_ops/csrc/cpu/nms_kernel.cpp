// CPU kernel of faster_rcnn::nms (see ../nms.cpp). Boxes are sorted by score (stable, so ties keep
// their input order), then each kept box suppresses the later boxes it overlaps by more than the
// threshold (already suppressed ones included: the same result, without a branch); the scan stops
// as soon as `max_output` boxes are kept. cuda/nms_kernel.cu makes the
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
    // The boxes in score order, one array per coordinate: the inner loop below reads them
    // contiguously and has no branch, so the compiler vectorises it.
    std::vector<scalar_t> x1(n), y1(n), x2(n), y2(n), area(n);
    for (int64_t k = 0; k < n; ++k) {
      const scalar_t* q = p + 4 * order[k];
      x1[k] = q[0], y1[k] = q[1], x2[k] = q[2], y2[k] = q[3];
      area[k] = (q[2] - q[0] + off) * (q[3] - q[1] + off);
    }
    std::vector<uint8_t> suppressed(n, 0);
    const scalar_t thr = static_cast<scalar_t>(iou_threshold);
    for (int64_t i = 0; i < n; ++i) {
      if (suppressed[i]) continue;
      keep.push_back(order[i]);
      if (max_output > 0 && static_cast<int64_t>(keep.size()) == max_output) break;
      const scalar_t ix1 = x1[i], iy1 = y1[i], ix2 = x2[i], iy2 = y2[i], iarea = area[i];
      for (int64_t j = i + 1; j < n; ++j) {
        const scalar_t w = std::min(ix2, x2[j]) - std::max(ix1, x1[j]) + off;
        const scalar_t h = std::min(iy2, y2[j]) - std::max(iy1, y1[j]) + off;
        const scalar_t inter = w * h;
        // Boxes that do not overlap (w or h <= 0) are never suppressed; otherwise IoU > threshold.
        suppressed[j] |= static_cast<uint8_t>((w > 0) & (h > 0) & (inter > thr * (iarea + area[j] - inter)));
      }
    }
  });
  return at::tensor(keep, boxes.options().dtype(at::kLong));
}

}  // namespace

TORCH_LIBRARY_IMPL(faster_rcnn, CPU, m) { m.impl("nms", &nms_cpu); }

}  // namespace faster_rcnn
