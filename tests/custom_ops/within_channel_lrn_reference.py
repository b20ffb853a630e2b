"""A slow pure-Python reference of Caffe's within-channel LRN (LRNLayer with norm_region
WITHIN_CHANNEL), written from the layer's description and independent of the compiled kernels:

    y[n, c, h, w] = x[n, c, h, w] / (1 + alpha / size² · Σ x[n, c, h', w']²) ** beta

the sum over the cells of the size × size window around (h, w) that lie inside the map (the
padding is zero, and counted in the size² of the mean). Computed in float64 with NumPy loops.
"""
import numpy as np
import torch


def reference_within_channel_lrn(x: torch.Tensor, size: int, alpha: float, beta: float) -> torch.Tensor:
    """``y`` in float64 for ``x`` of shape (N, C, H, W)."""
    values = x.detach().to(torch.float64).numpy()
    n_images, channels, height, width = values.shape
    r = size // 2
    out = np.empty_like(values)
    for n in range(n_images):
        for c in range(channels):
            for h in range(height):
                for w in range(width):
                    total = 0.0
                    for hh in range(max(h - r, 0), min(h + r + 1, height)):
                        for ww in range(max(w - r, 0), min(w + r + 1, width)):
                            total += values[n, c, hh, ww] ** 2
                    out[n, c, h, w] = values[n, c, h, w] / (1.0 + alpha * total / size**2) ** beta
    return torch.from_numpy(out)


def reference_formula(x: torch.Tensor, size: int, alpha: float, beta: float) -> torch.Tensor:
    """The same in torch ops (explicit zero padding and shifted sums), for autograd's gradient."""
    r = size // 2
    height, width = x.shape[2:]
    padded = torch.nn.functional.pad(x * x, (r, r, r, r))
    total = sum(padded[:, :, i:i + height, j:j + width] for i in range(size) for j in range(size))
    return x / (1 + alpha * total / size**2) ** beta
