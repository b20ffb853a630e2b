from .strict_json_vis_backend import StrictJsonLocalVisBackend

__all__ = ['StrictJsonLocalVisBackend']
