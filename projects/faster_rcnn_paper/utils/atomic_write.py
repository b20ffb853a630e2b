"""Files that a crash (even ``kill -9`` or a power cut) never leaves half-written.

Every file this project writes for later runs to read (checkpoints and the ``last_checkpoint``
pointer, offline proposals, the 4-step stage records, initial / final / converted weights) goes
through :func:`atomic_path`: the data is written to ``<path>.tmp`` in the destination folder,
flushed to disk (``fsync``), renamed over ``path`` (``os.replace``, one atomic step on a POSIX
file system), and the folder entry is flushed too. A reader therefore sees either the previous
complete file or the new complete one, never a truncated file. A ``.tmp`` left by a killed writer
is overwritten by the next write of the same file.
"""
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Union

import torch


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path beside ``path`` to write to; on success it replaces ``path``
    atomically, on an exception it is removed and ``path`` is left as it was."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.tmp'
    try:
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_path(folder)


def atomic_write(path: str, data: Union[bytes, str]) -> None:
    """Writes ``data`` (bytes, or text as UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data.encode('utf-8') if isinstance(data, str) else data)


def atomic_torch_save(obj, path: str) -> None:
    """``torch.save(obj, path)``, atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
