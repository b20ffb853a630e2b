from .alternating_training_hook import AlternatingTrainingHook
from .atomic_checkpoint_hook import AtomicCheckpointHook, save_checkpoint_atomically
from .training_speed_hook import TrainingSpeedHook

__all__ = ['AlternatingTrainingHook', 'AtomicCheckpointHook', 'TrainingSpeedHook', 'save_checkpoint_atomically']
