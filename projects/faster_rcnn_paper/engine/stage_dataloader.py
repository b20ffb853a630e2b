"""Swapping the training dataloader of MMEngine's ``IterBasedTrainLoop`` between the stages of
4-step alternating training (§3.2: each step has its batch size and, for Fast R-CNN, its proposals),
in the spirit of mmdet's ``PipelineSwitchHook`` but for the whole loader.
"""
from ..utils.mmengine_private import InfiniteDataloaderIterator


class _StageIterator:
    """A stage's training iterator. ``IterBasedTrainLoop.run`` fast-forwards its iterator by the
    resumed iteration count (to replay the stock loop's data order); a stage's dataloader starts
    afresh, so those ``skip`` calls are answered without loading any data."""

    def __init__(self, iterator: InfiniteDataloaderIterator, skip: int = 0) -> None:
        self.iterator, self._skip = iterator, skip

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
            return None
        return next(self.iterator)


def use_dataloader(loop, dataloader, skip: int = 0) -> None:
    """Makes ``loop`` draw its batches from ``dataloader``, answering ``skip`` fast-forward calls
    without data. The loop's own dataloader keeps the iterator the loop made: a second iterator
    over a loader with persistent workers resets the first one's workers (no batch ever arrives)."""
    previous = loop.dataloader
    loop.dataloader = dataloader
    iterator = loop.dataloader_iterator
    iterator = iterator.iterator if isinstance(iterator, _StageIterator) else iterator
    if dataloader is not previous or not isinstance(iterator, InfiniteDataloaderIterator):
        iterator = InfiniteDataloaderIterator(dataloader)
    loop.dataloader_iterator = _StageIterator(iterator, skip)
