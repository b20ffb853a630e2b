from .hooks import AtomicCheckpointHook, TrainingSpeedHook
from .runner import AlternatingTrainLoop, StageLogProcessor

__all__ = ['AtomicCheckpointHook', 'AlternatingTrainLoop', 'StageLogProcessor', 'TrainingSpeedHook']
