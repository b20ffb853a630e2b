"""Checkpoints that a crash (even ``kill -9``) can never leave half-written.

MMEngine's ``CheckpointHook`` writes ``iter_N.pth`` and the ``last_checkpoint`` pointer in place
and, with ``max_keep_ckpts``, deletes the oldest checkpoint *before* writing the new one. A kill
at the wrong moment leaves a truncated file behind, or a truncated pointer that ``--resume`` then
follows. This hook writes each checkpoint to a temporary file and renames it into place
(``utils/atomic_write.py``), then rewrites the pointer the same way, and only then
removes checkpoints beyond ``max_keep_ckpts``: at any moment ``last_checkpoint`` names a complete
file, and at most one checkpoint interval is lost.
"""
import os
import os.path as osp
from collections import deque

from mmdet.registry import HOOKS
from mmengine.dist import barrier, is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from ...utils.atomic_write import atomic_path, atomic_write


def save_checkpoint_atomically(runner, out_dir: str, filename: str, **kwargs) -> str:
    """``runner.save_checkpoint`` to ``<out_dir>/<filename>`` through ``atomic_path``; then points
    ``<work_dir>/last_checkpoint`` at it (atomically too). Returns the checkpoint path."""
    path = osp.join(out_dir, filename)
    if is_main_process():  # runner.save_checkpoint writes on the main process only
        with atomic_path(path) as tmp:
            runner.save_checkpoint(out_dir, osp.basename(tmp), **kwargs)
        atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), path)
    barrier()
    return path


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) with atomic writes on a local file system; other
    storage backends fall back to MMEngine's behaviour."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.max_keep_ckpts > 0 and isinstance(self.file_backend, LocalBackend):
            # MMEngine's deque has maxlen=max_keep_ckpts, which would forget the oldest id on
            # append, before the new checkpoint exists; we trim it ourselves after the save.
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        if self.max_keep_ckpts > 0:
            if not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
                self.keep_ckpt_ids.append(step)
            # saved inside the checkpoint: the ids kept once this save completes, so that a run
            # resumed from it goes on removing the right files
            kept = list(self.keep_ckpt_ids)[-self.max_keep_ckpts:]
            runner.message_hub.update_info('keep_ckpt_ids', kept)
        save_checkpoint_atomically(
            runner, self.out_dir, ckpt_filename, file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        # Only now, with the new checkpoint complete, drop the oldest ones.
        while self.max_keep_ckpts > 0 and len(self.keep_ckpt_ids) > self.max_keep_ckpts:
            old = osp.join(self.out_dir, self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
            if is_main_process() and osp.isfile(old):
                os.remove(old)
