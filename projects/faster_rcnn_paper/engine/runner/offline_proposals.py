"""Offline region proposals between the steps of 4-step alternating training (§3.2).

py-faster-rcnn (``tools/train_faster_rcnn_alt_opt.py: rpn_generate``, ``lib/rpn/generate.py``) runs
the trained RPN over every (unflipped) training image at the test scale and stores the boxes, in
original-image coordinates, for the next Fast R-CNN step. Its settings: no pre-NMS cap, NMS 0.7,
top 2000, minimum size 16 px. We do the same with the model's own RPN and write the boxes, sorted by
score, in this project's ``.npz`` proposal format (``datasets/proposal_file.py``: no pickle), which
``OfflineProposalsMixin.load_proposals`` (``PaperVOCDataset``) reads back, with ``meta`` saying which weights made them.

The file is written atomically, so an interrupted run never leaves a partial file behind. In
distributed runs every process handles a shard of the images and rank 0 writes the merged result.
Progress goes to the run's log (console and log file): images done and images per second, at
every tenth of the images.
"""
import time
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, barrier, get_dist_info
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...datasets.proposal_file import proposal_key, save_proposal_file


@torch.no_grad()
def generate_proposals(runner, dataloader_cfg: dict, rpn_cfg: dict, out_file: str,
                       description: str = 'proposals', meta: Optional[dict] = None) -> Dict[str, dict]:
    """Runs the model's RPN over every image of ``dataloader_cfg`` and writes ``out_file``.

    Args:
        runner: the MMEngine runner (its model, dataloader builder and logger are used).
        dataloader_cfg: a test-style dataloader config (no flip, ``test_mode=True``) whose
            dataset lists the images to propose on.
        rpn_cfg: proposal settings (``nms_pre``, ``max_per_img``, ``nms``, ``min_bbox_size``).
        out_file: the ``.npz`` file to write (replaced if it exists).
        meta: recorded in the file (which stage and weights made it).
    """
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    was_training = model.training
    model.eval()
    dataloader = runner.build_dataloader(dataloader_cfg, seed=runner.seed)
    rank, world_size = get_dist_info()
    print_log(f'Generating {description} for {len(dataloader.dataset)} images -> {out_file}',
              logger='current')
    total, done, start = len(dataloader.dataset), 0, time.perf_counter()
    every = max(1, total // 10)
    results = {}
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        for sample, props in zip(data['data_samples'],
                                 model.propose(data['inputs'], data['data_samples'], cfg=rpn_cfg)):
            results[proposal_key(sample.img_path)] = dict(
                bboxes=props.bboxes.float().cpu().numpy().astype(np.float32),
                scores=props.scores.float().cpu().numpy().astype(np.float32))
        before, done = done, min(total, done + len(data['data_samples']) * world_size)
        if done // every > before // every or done == total:
            print_log(f'{description}: {done}/{total} images, '
                      f'{done / max(time.perf_counter() - start, 1e-9):.1f} images/s', logger='current')
    if world_size > 1:
        merged = {}
        for part in all_gather_object(results):
            merged.update(part)
        results = merged
    if rank == 0:
        save_proposal_file(out_file, results, meta)
    barrier()
    model.train(was_training)
    return results
