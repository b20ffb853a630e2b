from .legacy_iou2d_calculator import LegacyBboxOverlaps2D

__all__ = ['LegacyBboxOverlaps2D']
