"""The private MMEngine 0.10 names this project relies on, in one place (each has no public
equivalent; a new MMEngine release that renames one breaks only this file).
"""
import contextlib
import logging
from typing import Iterator, List

from mmengine.analysis.complexity_analysis import _DEFAULT_SUPPORTED_ACT_OPS, _DEFAULT_SUPPORTED_FLOP_OPS
from mmengine.analysis.jit_analysis import _IGNORED_OPS
from mmengine.runner import BaseLoop
# The infinite iterator ``IterBasedTrainLoop`` draws batches from (re-iterates the dataloader,
# advancing the sampler's epoch); a stage that swaps the loop's dataloader needs one of its own.
from mmengine.runner.loops import _InfiniteDataloaderIterator as InfiniteDataloaderIterator
from mmengine.utils import ManagerMixin

__all__ = ['InfiniteDataloaderIterator', 'is_training_run', 'is_resuming', 'set_max_iters', 'add_flop_handles',
           'forget_resumed_key', 'ignore_ops', 'add_activation_handles', 'local_checkpoint_loader',
           'fresh_global_instances']


def is_training_run(runner) -> bool:
    """True inside ``Runner.train()``: it builds ``runner._train_loop`` from its config before
    ``before_run``, while a test or val run leaves it a config (``runner.train_loop`` would build it)."""
    return isinstance(getattr(runner, '_train_loop', None), BaseLoop)


def is_resuming(runner) -> bool:
    """True when the run resumes (``--resume``): ``Runner`` keeps the flag as ``_resume`` only."""
    return bool(getattr(runner, '_resume', False))


def set_max_iters(loop, max_iters: int) -> None:
    """``IterBasedTrainLoop.max_iters`` is a read-only property over ``_max_iters``."""
    loop._max_iters = max_iters


def add_flop_handles(handles: dict) -> None:
    """Adds jit-op FLOP counters to the table every ``FlopAnalyzer`` starts from (MMEngine has no
    public registry; ``get_model_complexity_info`` builds its analyzer from this table)."""
    _DEFAULT_SUPPORTED_FLOP_OPS.update(handles)


def forget_resumed_key(message_hub, key: str) -> None:
    """Drops ``key`` from the keys a checkpoint's message hub lists for resuming (``_resumed_keys``):
    a scalar popped from ``log_scalars`` but still listed makes every resume warn "resumed key:
    ... is not defined in message_hub"."""
    message_hub._resumed_keys.pop(key, None)


def add_activation_handles(handles: dict) -> None:
    """Adds jit-op handles to the table every ``ActivationAnalyzer`` starts from (as above)."""
    _DEFAULT_SUPPORTED_ACT_OPS.update(handles)


def ignore_ops(names) -> None:
    """Adds op names to the set every analyzer skips without an "Unsupported operator" warning where
    it has no handle for them (MMEngine keeps pooling, NMS and the like there)."""
    _IGNORED_OPS.update(names)


def local_checkpoint_loader():
    """The loader ``CheckpointLoader`` uses for local paths (the ``''`` scheme): MMEngine registers
    loaders publicly (``register_scheme``) but has no public lookup of the one in place."""
    from mmengine.runner.checkpoint import CheckpointLoader
    return CheckpointLoader._get_checkpoint_loader('')


def _manager_classes() -> List[type]:
    """``ManagerMixin`` and every subclass of it defined so far (each keeps its own instances)."""
    found, todo = {}, [ManagerMixin]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found[cls] = None
            todo.extend(cls.__subclasses__())
    return list(found)


@contextlib.contextmanager
def fresh_global_instances() -> Iterator[None]:
    """The block starts without MMEngine's globally accessible instances (``ManagerMixin``:
    ``DefaultScope``, ``MessageHub``, ``MMLogger``, the visualizers), as a new process would; when it
    ends, those it made are dropped (the handlers of its loggers closed, their log files released)
    and those from before are back.

    MMEngine keeps them by name in a private table per class (``_instance_dict``) for the life of
    the process, and a ``Runner`` takes the one of its name if there is one: its visualizer is named
    ``visualizer`` in the configs, so a second runner in one process (training, then testing) would
    write through the first one's into the first run's folder, and one started within the same
    second (the other names are the config's and the time's) would share its logger, message hub
    and scope too.
    """
    saved = {cls: dict(cls._instance_dict) for cls in _manager_classes()}
    for cls in saved:
        cls._instance_dict.clear()
    try:
        yield
    finally:
        for cls in _manager_classes():
            for instance in cls._instance_dict.values():
                if isinstance(instance, logging.Logger):
                    for handler in list(instance.handlers):
                        instance.removeHandler(handler)
                        handler.close()
            cls._instance_dict.clear()
            cls._instance_dict.update(saved.get(cls, {}))
