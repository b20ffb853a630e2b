from .checkpoint_safety import allow_mmengine_checkpoints, checkpoint_safe_globals
from .imagenet_weights import SOURCE_FORMATS, convert_imagenet_weights, convert_state_dict
from .user_input_error import UserFileNotFoundError, UserInputError

__all__ = [
    'allow_mmengine_checkpoints', 'checkpoint_safe_globals', 'SOURCE_FORMATS',
    'convert_imagenet_weights', 'convert_state_dict', 'UserFileNotFoundError', 'UserInputError'
]
