"""Test-only hooks, imported by training subprocesses through ``custom_imports``."""
import os
import signal

from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """Kills the process with SIGKILL (``kill -9``) right before training iteration ``at_iter``."""
    priority = 'VERY_LOW'

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class TornCheckpointHook(Hook):
    """Simulates ``kill -9`` in the middle of writing checkpoint ``iter_<at_iter>.pth``: leaves a
    truncated temporary file (what an interrupted write leaves) and kills the process."""
    priority = 'VERY_LOW'

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if checkpoint['meta']['iter'] == self.at_iter:
            with open(os.path.join(runner.work_dir, f'iter_{self.at_iter}.pth.tmp'), 'wb') as f:
                f.write(b'PK\x03\x04 truncated')
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillInValHook(Hook):
    """Kills the process with SIGKILL in the middle of an evaluation (before its second image)."""
    priority = 'VERY_LOW'

    def before_val_iter(self, runner, batch_idx, data_batch=None) -> None:
        if batch_idx == 1:
            os.kill(os.getpid(), signal.SIGKILL)
