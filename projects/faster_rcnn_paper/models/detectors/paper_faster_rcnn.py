"""Faster R-CNN with the paper's training modes (§3.2).

The paper trains the shared-conv detector in one of three ways: (i) 4-step alternating training,
whose steps train either the RPN alone or Fast R-CNN alone on fixed proposals; (ii) approximate
joint training, one network whose RPN and Fast R-CNN losses are summed while proposals are treated
as constants; (iii) non-approximate joint training. ``train_mode`` selects what a training step
computes:

* ``'joint'`` — approximate joint training, exactly mmdet's ``FasterRCNN`` (py-faster-rcnn end2end);
* ``'rpn'`` — RPN losses only (alternating steps 1 and 3);
* ``'fast_rcnn'`` — Fast R-CNN losses only, on the precomputed proposals that the data pipeline
  attaches to each sample (``LoadProposals``; alternating steps 2 and 4);
* ``'non_approximate_joint'`` — joint training whose proposals keep their graph back to the RPN's
  box regression, so that the detector's loss also trains it through the proposal coordinates
  (needs an RoI layer differentiable w.r.t. boxes, ``RoIWarp``, and ``NonApproximateRoIHead``).

A non-finite loss stops training before the optimiser step (:meth:`parse_losses`).
:meth:`init_weights` (training only) refuses a pre-trained checkpoint that does not exist, in one
line with the convert command, and warns when the model trains from scratch (no ImageNet weights).

Prediction is mmdet's: proposals from the RPN, or the sample's precomputed ones when present.
:meth:`propose` runs the RPN alone with given proposal settings (the offline proposal dump between
alternating steps). :meth:`set_stage` switches the model into one step of alternating training.
"""
import copy
import logging
import math
from typing import List, Optional

import torch
from mmdet.models.detectors import FasterRCNN
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import SampleList
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from torch import Tensor

from ..backbones.imagenet_initialisation import CONVERT_TOOL, check_imagenet_initialisation

TRAIN_MODES = ('joint', 'rpn', 'fast_rcnn', 'non_approximate_joint')
# The head a mode of alternating training does not train (§3.2: steps 1/3 train the RPN, 2/4 Fast R-CNN).
UNUSED_HEAD = {'rpn': 'roi_head', 'fast_rcnn': 'rpn_head'}


@MODELS.register_module()
class PaperFasterRCNN(FasterRCNN):
    """mmdet ``FasterRCNN`` whose training step follows ``train_mode`` (see module docstring)."""

    def __init__(self, *args, train_mode: str = 'joint', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.train_mode = train_mode
        self._backbone_cfg = copy.deepcopy(kwargs.get('backbone'))

    def init_weights(self) -> None:
        """mmengine's initialisation (runs when training starts), after checking that the ImageNet
        checkpoint of ``init_cfg`` exists (:func:`check_imagenet_initialisation`: one line naming the
        file and the convert command) or warning that the model trains from scratch."""
        key, _ = check_imagenet_initialisation(self.init_cfg, self._backbone_cfg)
        if key is None:
            print_log('model.init_cfg is None: training from scratch (Kaiming-initialised convs), not from '
                      "ImageNet weights as the paper (§3.1.3), unless load_from / --resume loads a checkpoint; "
                      f"the paper's results need ImageNet weights ({CONVERT_TOOL})",
                      logger='current', level=logging.WARNING)
        super().init_weights()

    def set_stage(self, mode: str, train_cfg_overrides: Optional[dict] = None) -> List[str]:
        """Switches to one step of 4-step alternating training (§3.2): ``train_mode`` becomes
        ``mode``, and ``train_cfg`` becomes the config's own with ``train_cfg_overrides`` merged
        in (e.g. 64 RoIs per image in the Fast R-CNN steps, pfr ``stage2_fast_rcnn_train.pt``);
        the heads' assigners and samplers are rebuilt from it. Each call starts from the
        constructor's ``train_cfg``, so overrides of an earlier stage do not leak into the next.

        Returns the module-name prefixes that this mode does not train (to be frozen).
        """
        if mode not in UNUSED_HEAD:
            raise ValueError(f'set_stage: mode must be one of {list(UNUSED_HEAD)}, got {mode!r}')
        if not hasattr(self, '_constructor_train_cfg'):
            self._constructor_train_cfg = copy.deepcopy(self.train_cfg)
        self.train_mode = mode
        train_cfg = ConfigDict(copy.deepcopy(self._constructor_train_cfg or {}))
        train_cfg.merge(train_cfg_overrides or {})  # mmengine's config merge (``_delete_`` too)
        self.train_cfg = train_cfg
        if train_cfg.get('rpn') is not None:
            head = self.rpn_head
            head.train_cfg = train_cfg.rpn
            head.assigner = TASK_UTILS.build(train_cfg.rpn['assigner'])
            head.sampler = TASK_UTILS.build(train_cfg.rpn['sampler'], default_args=dict(context=head))
        if train_cfg.get('rcnn') is not None:
            self.roi_head.train_cfg = train_cfg.rcnn
            self.roi_head.init_assigner_sampler()
        return [UNUSED_HEAD[mode]]

    @property
    def train_mode(self) -> str:
        return self._train_mode

    @train_mode.setter
    def train_mode(self, mode: str) -> None:
        if mode not in TRAIN_MODES:
            raise ValueError(f'train_mode must be one of {TRAIN_MODES}, got {mode!r}')
        self._train_mode = mode

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        # Kept for the error message of parse_losses.
        self._batch_images = [s.metainfo.get('img_path', '?') for s in batch_data_samples]
        if self.train_mode == 'joint':
            return super().loss(batch_inputs, batch_data_samples)
        x = self.extract_feat(batch_inputs)
        if self.train_mode == 'non_approximate_joint':
            return self._non_approximate_joint_loss(x, batch_data_samples)
        if self.train_mode == 'rpn':
            # As mmdet's two-stage loss: the RPN sees every gt box as the one foreground class.
            rpn_samples = copy.deepcopy(batch_data_samples)
            for sample in rpn_samples:
                sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
            return self.rpn_head.loss(x, rpn_samples)
        proposals = [sample.get('proposals', None) for sample in batch_data_samples]
        if any(p is None for p in proposals):
            raise ValueError("train_mode='fast_rcnn' needs precomputed proposals in every sample "
                             '(add LoadProposals to the pipeline and a proposal_file to the dataset)')
        # roi_head.loss consumes the proposals' boxes; keep the samples' own copy intact.
        proposals = [InstanceData(bboxes=p.bboxes.clone()) for p in proposals]
        return self.roi_head.loss(x, proposals, batch_data_samples)

    def _non_approximate_joint_loss(self, x, batch_data_samples: SampleList) -> dict:
        """RPN losses + detector losses on proposals that are differentiable w.r.t. the RPN's
        regression output (decoded with gradient; NMS and top-N only select)."""
        rpn_samples = copy.deepcopy(batch_data_samples)
        for sample in rpn_samples:
            sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
        cls_scores, bbox_preds = self.rpn_head(x)
        metas = [sample.metainfo for sample in batch_data_samples]
        losses = self.rpn_head.loss_by_feat(cls_scores, bbox_preds,
                                            [s.gt_instances for s in rpn_samples], metas)
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
        proposals = self.rpn_head.proposals_with_grad(cls_scores, bbox_preds, metas, proposal_cfg)
        losses.update(self.roi_head.loss(x, proposals, batch_data_samples))
        return losses

    def parse_losses(self, losses: dict):
        """mmdet's loss sum, refusing a non-finite loss *before* the optimiser step, so that a
        NaN / inf never reaches the weights (nor, hence, any checkpoint): the run stops with an
        error naming the loss terms and the images of the batch."""
        loss, log_vars = super().parse_losses(losses)
        if not torch.isfinite(loss):
            bad = {k: float(v) for k, v in log_vars.items() if not math.isfinite(float(v))}
            raise FloatingPointError(
                f'non-finite training loss {bad} on images {getattr(self, "_batch_images", "?")}; '
                'the weights were not updated, the last checkpoint is intact. Check these images '
                "and their annotations (tools/misc/check_dataset.py), or lower the learning rate, then "
                'resume with --resume')
        return loss, log_vars

    @torch.no_grad()
    def propose(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                cfg: Optional[ConfigDict] = None, rescale: bool = True) -> List[InstanceData]:
        """RPN proposals (boxes sorted by objectness, with scores) under the settings ``cfg``
        (``nms_pre``, ``max_per_img``, ``nms``, ``min_bbox_size``; default ``test_cfg.rpn``),
        in original-image coordinates when ``rescale``."""
        x = self.extract_feat(batch_inputs)
        outs = self.rpn_head(x)
        metas = [sample.metainfo for sample in batch_data_samples]
        return self.rpn_head.predict_by_feat(*outs, batch_img_metas=metas,
                                             cfg=cfg if cfg is not None else self.test_cfg.rpn,
                                             rescale=rescale)
