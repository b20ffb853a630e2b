"""One training run per work dir: two 4-step runs on one ``--work-dir`` would overwrite each
other's checkpoints, proposal files and final model.

The lock is an exclusive ``flock`` on ``<work_dir>/alternating/train.lock`` (``run_record.py``),
held by the main process for the whole run. The kernel releases it when the holder exits, even
by ``kill -9``, so a lock file left by a killed run is simply taken over; the file records the
holder (host, process id, start time) for the refusal message.
"""
import fcntl
import json
import os
import socket
import time
from typing import IO, Optional

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.logging import print_log

from ..utils.user_input_error import UserInputError


class WorkDirLock:
    """``acquire()`` refuses (UserInputError naming the holder) while another process holds
    ``path``; ``release()`` (or the process's exit) frees it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: Optional[IO] = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        handle = open(self.path, 'a+')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = self._holder(handle)
            handle.close()
            raise UserInputError(f'{self.path}: this work dir is in use by another training run '
                                 f'({holder}); wait for it to end or choose another --work-dir') from None
        previous = self._holder(handle)
        if previous != 'unknown holder':
            print_log(f'Work dir lock {self.path}: taking over from a run that ended ({previous})',
                      logger='current')
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(dict(host=socket.gethostname(), pid=os.getpid(),
                                     since=time.strftime('%Y-%m-%d %H:%M:%S'))))
        handle.flush()
        self._file = handle

    @staticmethod
    def _holder(handle: IO) -> str:
        handle.seek(0)
        try:
            info = json.loads(handle.read())
            return f"process {info['pid']} on {info['host']} since {info['since']}"
        except (ValueError, KeyError, TypeError):
            return 'unknown holder'

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def lock_work_dir(path: str) -> Optional[WorkDirLock]:
    """Takes the lock on the main process; every process of a distributed run refuses together."""
    lock, refusal = None, [None]
    if is_main_process():
        lock = WorkDirLock(path)
        try:
            lock.acquire()
        except UserInputError as e:
            refusal = [str(e)]
    broadcast_object_list(refusal)
    if refusal[0] is not None:
        raise UserInputError(refusal[0])
    return lock
