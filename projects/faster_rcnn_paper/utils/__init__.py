from .atomic_write import atomic_path, atomic_torch_save, atomic_write
from .checkpoint_safety import allow_mmengine_checkpoints, checkpoint_safe_globals
from .user_input_error import UserFileNotFoundError, UserInputError

__all__ = [
    'atomic_path', 'atomic_torch_save', 'atomic_write', 'allow_mmengine_checkpoints', 'checkpoint_safe_globals',
    'UserFileNotFoundError', 'UserInputError'
]
