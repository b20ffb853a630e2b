from .hooks import AtomicCheckpointHook
from .runner import AlternatingTrainLoop, StageLogProcessor

__all__ = ['AtomicCheckpointHook', 'AlternatingTrainLoop', 'StageLogProcessor']
