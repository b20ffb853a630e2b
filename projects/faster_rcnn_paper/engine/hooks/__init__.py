from .atomic_checkpoint_hook import AtomicCheckpointHook, save_checkpoint_atomically

__all__ = ['AtomicCheckpointHook', 'save_checkpoint_atomically']
