"""Drives the compiled kernels of a given build with random, partly invalid inputs; used by
tools/misc/sanitize_ops.sh under AddressSanitizer (python tests/custom_ops/fuzz_under_sanitizer.py LIB N).

Loads LIB (a build of custom_ops/faster_rcnn_ops/csrc) instead of the installed extension and
calls every op forward and backward; invalid inputs must raise Python exceptions, never touch
memory out of bounds (ASan aborts the process on any such access)."""
import random
import sys

import torch

COORDS = [0.0, -0.5, 0.5, 7.9, 16.0, -1e30, 1e30, 3.4e38, float('nan'), float('inf'), float('-inf')]


def coord(rng):
    return rng.choice(COORDS) if rng.random() < 0.3 else rng.uniform(-60, 260)


def main(lib: str, n: int) -> None:
    torch.ops.load_library(lib)
    ops = torch.ops.faster_rcnn
    rng = random.Random(0)
    raised = 0
    for case in range(n):
        dtype = rng.choice([torch.float32, torch.float64])
        b, c, h, w = rng.randint(1, 3), rng.randint(1, 40), rng.randint(1, 12), rng.randint(1, 12)
        feats = torch.randn(b, c, h, w, dtype=dtype)
        k = rng.randint(0, 8)
        batch = [rng.choice([rng.randint(0, b - 1), -1, b, 0.5, float('nan')]) if rng.random() < 0.1
                 else rng.randint(0, b - 1) for _ in range(k)]
        rois = torch.tensor([[bi] + [coord(rng) for _ in range(4)] for bi in batch], dtype=dtype).reshape(-1, 5)
        ph, pw, ratio = rng.randint(1, 8), rng.randint(1, 8), rng.randint(1, 3)
        scale = rng.choice([1.0, 0.5, 1 / 16])
        try:
            out, arg = ops.roi_pool(feats, rois, scale, ph, pw)
            ops.roi_pool_backward(torch.randn_like(out), arg, rois, b, c, h, w)
            bad_arg = arg.clone()
            if bad_arg.numel():
                bad_arg.view(-1)[0] = h * w + 5  # out-of-range argmax must be rejected
                try:
                    ops.roi_pool_backward(torch.randn_like(out), bad_arg, rois, b, c, h, w)
                except (RuntimeError, ValueError):
                    pass
        except (RuntimeError, ValueError):
            raised += 1
        try:
            out, arg = ops.roi_warp(feats, rois, scale, ph, pw, ratio)
            ops.roi_warp_backward(torch.randn_like(out), arg, feats, rois, scale, ratio)
        except (RuntimeError, ValueError):
            raised += 1
        size = rng.choice([1, 3, 3, 5, 7, 2, 0])  # even / zero sizes must be rejected
        lrn_input = feats.contiguous(memory_format=torch.channels_last) if rng.random() < 0.5 else feats
        try:
            out = ops.within_channel_lrn(lrn_input, size, rng.choice([5e-5, 1e-2]), rng.choice([0.75, 0.6]))
            ops.within_channel_lrn_backward(torch.randn_like(out), lrn_input, size, 5e-5, 0.75)
        except (RuntimeError, ValueError):
            raised += 1
        boxes = torch.rand(rng.randint(0, 50), 4, dtype=dtype) * 100
        boxes[:, 2:] += boxes[:, :2]
        ops.nms(boxes, torch.rand(len(boxes), dtype=dtype), rng.random(), rng.randint(0, 1), rng.randint(-1, 20))
    print(f'{n} random cases per op ran under AddressSanitizer without a memory error '
          f'({raised} invalid inputs were rejected with a Python exception)')


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
