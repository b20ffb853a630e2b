"""What the Python sides of the RoI ops share: the output-size argument and the input checks their
fake (meta) kernels make in place of the compiled kernels' TORCH_CHECKs."""
from typing import Tuple, Union

from torch import Tensor


def output_size_pair(output_size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    """``(out_h, out_w)`` from one positive int or a pair of them; ValueError otherwise."""
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    if len(output_size) != 2 or not all(isinstance(v, int) and v > 0 for v in output_size):
        raise ValueError(f'output_size must be a positive int or a pair of them, got {output_size!r}')
    return int(output_size[0]), int(output_size[1])


def check_features_and_rois(op: str, features: Tensor, rois: Tensor) -> None:
    """The checks every RoI op's kernels make of ``features`` (N, C, H, W) and ``rois`` (K, 5):
    dims, same dtype, same device."""
    if features.dim() != 4:
        raise RuntimeError(f'{op}: features must be 4-D (N, C, H, W), got {tuple(features.shape)}')
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise RuntimeError(f'{op}: rois must be of shape (K, 5), got {tuple(rois.shape)}')
    if features.dtype != rois.dtype:
        raise RuntimeError(f'{op}: features and rois must have the same dtype, got '
                           f'{features.dtype} and {rois.dtype}')
    if features.device != rois.device:
        raise RuntimeError(f'{op}: features and rois must be on the same device, got '
                           f'{features.device} and {rois.device}')
