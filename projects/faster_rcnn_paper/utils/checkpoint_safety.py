"""Loading MMEngine checkpoints under torch's ``weights_only=True`` default (torch >= 2.6).

torch >= 2.6 unpickles checkpoints with a restricted unpickler that refuses every class not on an
allowlist, so a crafted file cannot run code. MMEngine 0.10.7 calls ``torch.load`` without
``weights_only`` and its checkpoints hold a few non-tensor objects (the message hub's
``HistoryBuffer`` with numpy arrays), so ``--resume`` and ``load_checkpoint`` fail (mmengine issue
1655). Instead of turning the safety off (``weights_only=False``), we add exactly those classes to
torch's allowlist: our own checkpoints and mmdet's load, and any other global in a file is still
refused without being executed.

A file that torch refuses (a legacy or crafted pickle), that is no checkpoint at all, or that does
not exist is the user's to fix, wherever it was named (``--resume``, ``last_checkpoint``,
``load_from``, an ``init_cfg`` of type ``Pretrained``): MMEngine's loader for local files is wrapped
so that it raises a :class:`UserInputError` naming the file, which the tools print as one line.
"""
import functools
import os.path as osp
import pickle
from typing import List, Tuple

import numpy as np
import torch

from .mmengine_private import local_checkpoint_loader
from .user_input_error import UserFileNotFoundError, UserInputError


def _numpy_globals() -> List[Tuple[object, str]]:
    """numpy arrays and scalars as pickled by numpy 1.x (``numpy.core``) and 2.x (``numpy._core``)."""
    multiarray = np.core.multiarray if not hasattr(np, '_core') else np._core.multiarray
    entries = []
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    entries.append((np.ndarray, 'numpy.ndarray'))
    entries.append((np.dtype, 'numpy.dtype'))
    # numpy >= 1.25 pickles a dtype's class (numpy.dtypes.Float64DType, ...) with it.
    for type_code in np.typecodes['All']:
        try:
            dtype_class = type(np.dtype(type_code))
        except TypeError:
            continue
        if dtype_class is not np.dtype:
            entries.append((dtype_class, f'{dtype_class.__module__}.{dtype_class.__name__}'))
    return entries


def _history_buffer_getattr(owner, name: str):
    """Stands in for ``builtins.getattr`` in checkpoints, for what MMEngine needs of it only.

    torch pickles a ``HistoryBuffer``'s statistics methods (``HistoryBuffer.min`` ...) as
    ``getattr(HistoryBuffer, 'min')``. Allowing the real ``getattr`` would let a crafted file reach
    any attribute of any allowed object; this version resolves only those methods.
    """
    from mmengine.logging import HistoryBuffer
    # The built-in statistics (registered lazily, on the first HistoryBuffer) and custom ones.
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'checkpoint asks for attribute {name!r} of {owner!r}, which is '
                                 'not a HistoryBuffer statistics method; refused')


def checkpoint_safe_globals() -> List[Tuple[object, str]]:
    """The non-tensor globals that MMEngine / MMDetection checkpoints contain."""
    from mmengine.logging import HistoryBuffer
    return [
        (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (_history_buffer_getattr, 'builtins.getattr'),
        (_history_buffer_getattr, '__builtin__.getattr'),
    ] + _numpy_globals()


def _refusal_reason(error: BaseException) -> str:
    """The line of torch's refusal that says what was refused (its message is a page of advice)."""
    text = str(error)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        detail = next((line.strip() for line in text.split(marker, 1)[1].splitlines() if line.strip()), '')
        return f"torch's weights-only loader refused it: {detail}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f'{type(error).__name__}: {lines[0] if lines else ""}'


def _is_unreadable_checkpoint(error: BaseException) -> bool:
    """Whether ``torch.load`` failed on the file's content (not on a bug or a full memory)."""
    return (isinstance(error, (pickle.UnpicklingError, EOFError))
            or (isinstance(error, RuntimeError) and 'PytorchStreamReader' in str(error)))


def checked_local_loader(load_from_local):
    """MMEngine's local checkpoint loader, raising a :class:`UserInputError` that names the file when
    it is missing or torch cannot load it safely."""

    @functools.wraps(load_from_local)
    def load(filename, map_location=None):
        if not osp.isfile(osp.expanduser(filename)):
            raise UserFileNotFoundError(f'checkpoint not found: {filename}')
        try:
            return load_from_local(filename, map_location)
        except Exception as error:  # noqa: BLE001 (re-raised unless the file's content is the cause)
            if not _is_unreadable_checkpoint(error):
                raise
            raise UserInputError(f'{filename}: not a checkpoint that can be loaded safely ({_refusal_reason(error)}); '
                                 'give a checkpoint saved by this project, mmdet or torch.save of tensors') from error
    load.checked = True
    return load


def allow_mmengine_checkpoints() -> None:
    """Adds :func:`checkpoint_safe_globals` to ``torch.serialization``'s weights-only allowlist and
    makes MMEngine's local checkpoint loader report a missing or refused file as a user error."""
    from mmengine.runner.checkpoint import CheckpointLoader, load_from_local
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    if not getattr(local_checkpoint_loader(), 'checked', False):  # wrapped once, however often called
        CheckpointLoader.register_scheme(prefixes='', loader=checked_local_loader(load_from_local), force=True)
