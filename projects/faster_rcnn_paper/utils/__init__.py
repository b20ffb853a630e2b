from .checkpoint_safety import allow_mmengine_checkpoints, checkpoint_safe_globals

__all__ = ['allow_mmengine_checkpoints', 'checkpoint_safe_globals']
