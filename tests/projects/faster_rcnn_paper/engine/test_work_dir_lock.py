"""engine/work_dir_lock.py: a second run on a locked work dir is refused naming the holder; the
lock of a killed run is taken over."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from faster_rcnn_paper.engine.work_dir_lock import WorkDirLock
from faster_rcnn_paper.utils import UserInputError
from tests.tiny import REPO, tool_env

HOLD = textwrap.dedent('''
    import sys, time
    from faster_rcnn_paper.engine.work_dir_lock import WorkDirLock
    lock = WorkDirLock(sys.argv[1])
    lock.acquire()
    print('held', flush=True)
    time.sleep(600)
''')


def holder(path):
    proc = subprocess.Popen([sys.executable, '-c', HOLD, str(path)], cwd=REPO, env=tool_env(),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'held'
    return proc


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    path = tmp_path / 'alternating' / 'train.lock'
    proc = holder(path)
    try:
        with pytest.raises(UserInputError, match=rf'{path}: this work dir is in use by another training run '
                                                 rf'\(process {proc.pid} on .* since .*\); wait for it'):
            WorkDirLock(str(path)).acquire()
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    path = tmp_path / 'train.lock'
    proc = holder(path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads(path.read_text())['pid'] == proc.pid  # what the killed run left
    lock = WorkDirLock(str(path))
    lock.acquire()
    assert json.loads(path.read_text())['pid'] == os.getpid()
    lock.release()
    assert path.read_text() == ''
    WorkDirLock(str(path)).acquire()  # released: free again
