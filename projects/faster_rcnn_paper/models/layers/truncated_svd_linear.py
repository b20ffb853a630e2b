"""Truncated SVD of a fully connected layer (Fast R-CNN §3.1, used by Faster R-CNN's detector).

A layer ``y = W x + b`` with ``W`` (out × in) is approximated by the ``rank`` largest singular
values, ``W ≈ U_r Σ_r V_rᵀ``, and replaced by two layers without a non-linearity between them: the
first computes ``Σ_r V_rᵀ x`` (rank × in, no bias), the second ``U_r (·) + b`` (out × rank). Its cost
drops from ``in·out`` to ``rank·(in + out)`` multiply-adds per RoI: Fast R-CNN keeps the top 1024
singular values of VGG-16's fc6 (25088 × 4096) and 256 of fc7 (4096 × 4096), for about 30 % less
detection time at −0.3 mAP.
"""
import torch
from torch import Tensor, nn


class TruncatedSVDLinear(nn.Module):
    """Two stacked linear layers of rank ``rank`` standing for one ``in_features → out_features``."""

    def __init__(self, in_features: int, out_features: int, rank: int) -> None:
        super().__init__()
        if not 0 < rank <= min(in_features, out_features):
            raise ValueError(f'rank must be in [1, {min(in_features, out_features)}], got {rank}')
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.first = nn.Linear(in_features, rank, bias=False)   # Σ_r V_rᵀ
        self.second = nn.Linear(rank, out_features)              # U_r, with the original bias

    @classmethod
    @torch.no_grad()
    def from_linear(cls, linear: nn.Linear, rank: int) -> 'TruncatedSVDLinear':
        """The best rank-``rank`` approximation of ``linear`` (Eckart-Young), in float64."""
        layer = cls(linear.in_features, linear.out_features, rank)
        u, s, vh = torch.linalg.svd(linear.weight.double(), full_matrices=False)
        layer.first.weight.copy_((s[:rank, None] * vh[:rank]).to(linear.weight.dtype))
        layer.second.weight.copy_(u[:, :rank].to(linear.weight.dtype))
        if linear.bias is not None:
            layer.second.bias.copy_(linear.bias)
        else:
            layer.second.bias.zero_()
        return layer

    def forward(self, x: Tensor) -> Tensor:
        return self.second(self.first(x))

    def extra_repr(self) -> str:
        return f'in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}'
