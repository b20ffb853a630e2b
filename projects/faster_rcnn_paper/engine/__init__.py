from .alternating_stages import StageSpec, parse_stages
from .hooks import AlternatingTrainingHook, AtomicCheckpointHook, TrainingSpeedHook
from .runner import StageLogProcessor

__all__ = [
    'AlternatingTrainingHook', 'AtomicCheckpointHook', 'StageLogProcessor', 'StageSpec', 'TrainingSpeedHook',
    'parse_stages'
]
