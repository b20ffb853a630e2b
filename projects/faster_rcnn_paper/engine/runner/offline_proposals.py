"""Offline region proposals between the steps of 4-step alternating training (§3.2).

py-faster-rcnn (``tools/train_faster_rcnn_alt_opt.py: rpn_generate``, ``lib/rpn/generate.py``) runs
the trained RPN over every (unflipped) training image at the test scale and stores the boxes, in
original-image coordinates, for the next Fast R-CNN step. Its settings: no pre-NMS cap, NMS 0.7,
top 2000, minimum size 16 px. We do the same with the model's own RPN and write the result in the
format mmdet's ``proposal_file`` / ``LoadProposals`` read: a pickled dict mapping
``'<image folder>/<file name>'`` (e.g. ``'JPEGImages/000005.jpg'``) to
``{'bboxes': float32 (N, 4), 'scores': float32 (N,)}``, sorted by score.

The file is written atomically (temporary file + rename), so an interrupted run never leaves a
partial file behind, and an existing complete file is reused. In distributed runs every process
handles a shard of the images and rank 0 writes the merged result.
"""
import os
import os.path as osp
import pickle
import tempfile
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, barrier, get_dist_info
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar


def proposal_key(img_path: str) -> str:
    """The key mmdet's ``BaseDetDataset.load_proposals`` looks up: '<folder>/<file name>'."""
    folder, name = osp.split(img_path)
    return osp.join(osp.basename(folder), name)


def atomic_pickle_dump(obj, path: str) -> None:
    """Writes ``obj`` to ``path`` through a temporary file in the same folder and a rename."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + osp.basename(path) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def load_proposal_file(path: str) -> Optional[Dict[str, dict]]:
    """Returns the proposals in ``path``, or None if there is no readable complete file."""
    if not osp.isfile(path):
        return None
    try:
        with open(path, 'rb') as f:
            proposals = pickle.load(f)  # our own file (see module docstring)
    except (EOFError, pickle.UnpicklingError, OSError):
        return None
    return proposals if isinstance(proposals, dict) else None


@torch.no_grad()
def generate_proposals(runner, dataloader_cfg: dict, rpn_cfg: dict, out_file: str,
                       description: str = 'proposals') -> Dict[str, dict]:
    """Runs the model's RPN over every image of ``dataloader_cfg`` and writes ``out_file``.

    Args:
        runner: the MMEngine runner (its model, dataloader builder and logger are used).
        dataloader_cfg: a test-style dataloader config (no flip, ``test_mode=True``) whose
            dataset lists the images to propose on.
        rpn_cfg: proposal settings (``nms_pre``, ``max_per_img``, ``nms``, ``min_bbox_size``).
        out_file: where to write the proposals (reused if it already holds a complete file).
    """
    existing = load_proposal_file(out_file)
    if existing is not None:
        print_log(f'Reusing {description}: {out_file} ({len(existing)} images)', logger='current')
        return existing
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    was_training = model.training
    model.eval()
    dataloader = runner.build_dataloader(dataloader_cfg, seed=runner.seed)
    rank, world_size = get_dist_info()
    print_log(f'Generating {description} for {len(dataloader.dataset)} images -> {out_file}',
              logger='current')
    progress = ProgressBar(len(dataloader.dataset)) if rank == 0 else None
    results = {}
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        for sample, props in zip(data['data_samples'],
                                 model.propose(data['inputs'], data['data_samples'], cfg=rpn_cfg)):
            results[proposal_key(sample.img_path)] = dict(
                bboxes=props.bboxes.float().cpu().numpy().astype(np.float32),
                scores=props.scores.float().cpu().numpy().astype(np.float32))
        if progress is not None:
            for _ in range(len(data['data_samples']) * world_size):
                if progress.completed < progress.task_num:
                    progress.update()
    if world_size > 1:
        merged = {}
        for part in all_gather_object(results):
            merged.update(part)
        results = merged
    if rank == 0:
        atomic_pickle_dump(results, out_file)
    barrier()
    model.train(was_training)
    return results
