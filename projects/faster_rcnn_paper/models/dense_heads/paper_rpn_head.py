"""The Region Proposal Network of Faster R-CNN (§3.1), with py-faster-rcnn's proposal layer.

Training (anchor targets, sampling, losses) is mmdet's ``RPNHead`` configured as the paper (see
``configs/_base_/models/``): a 3×3 conv + ReLU, 2k softmax objectness scores and 4k deltas.

What differs from mmdet, and is therefore written here, is how proposals are made
(py-faster-rcnn ``lib/rpn/proposal_layer.py``), in this order:

1. decode the deltas of *all* anchors and clip the boxes to the image;
2. drop boxes narrower or shorter than ``min_bbox_size`` pixels **of the original image**, i.e.
   ``min_bbox_size · scale_factor`` on the resized image, with inclusive widths ``x2 - x1 + 1``
   (mmdet compares ``x2 - x1 > min_bbox_size`` on the resized image);
3. sort by objectness, keep the top ``nms_pre`` (all when ``nms_pre <= 0``), NMS, keep the top
   ``max_per_img`` (mmdet takes the top-k before the size filter). Plain NMS runs as our
   compiled greedy NMS that stops after ``max_per_img`` kept boxes (identical output).

The test-time ablations of the paper's Table 2 (§4.1, "Ablation Experiments on RPN") are keys of
the same settings, all off by default (``tools/paper/paper_table.py table2`` turns them on):

* ``use_nms=False`` — "no NMS": step 3 keeps the top ``max_per_img`` boxes by rank without NMS,
  overlapping or not;
* ``rank_by='random'`` — "no cls": the objectness scores are not used; a random order, seeded by
  ``random_seed`` and the image (its ``img_id``, else its path), replaces them wherever the boxes
  are ranked (top ``nms_pre``, NMS, top ``max_per_img``), and the returned ``scores`` are those
  random keys. The paper's rows use it with ``use_nms=False`` ("thus no NMS/ranking is used": a
  random sample of N boxes);
* ``use_box_regression=False`` — "no reg": the proposals are the anchors themselves, clipped to
  the image explicitly to ``[0, W - 1] x [0, H - 1]`` (py-faster-rcnn ``clip_boxes``, the clip
  every decoded box gets), not decoded from zero deltas (a decode can change the box: the
  py-faster-rcnn decode makes it 1 px wider);
* ``max_per_img`` — the number of proposals N (100 / 300 / 1000 / 6000 in Table 2).

Training targets differ in one case: an image so small or elongated after resizing that no anchor
lies inside its border (e.g. 3000×200 shown at 1000×67: the smallest paper anchor is 184×96). mmdet
raises ``ValueError: There is no valid anchor inside the image boundary``; py-faster-rcnn's
``anchor_target_layer`` ignores every anchor (all labels -1), so the image gives no RPN loss. This
head does the same (all anchors ignored, zero RPN loss for that image; the other images of the batch
keep their normalisation) and logs a warning naming the file once. ``tools/misc/check_dataset.py``
predicts such images.
"""
import logging
import zlib
from typing import List, Optional

import torch
from faster_rcnn_ops import nms
from mmcv.ops import batched_nms
from mmdet.models.dense_heads import RPNHead
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.registry import MODELS
from mmdet.structures.bbox import scale_boxes
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmengine.structures import InstanceData

from ...utils.user_input_error import UserInputError

RANK_BY = ('objectness', 'random')


def clip_to_image(boxes: torch.Tensor, img_shape) -> torch.Tensor:
    """Boxes clipped to ``[0, W - 1] x [0, H - 1]`` (py-faster-rcnn ``clip_boxes``)."""
    height, width = img_shape[:2]
    x = boxes[:, 0::2].clamp(0, width - 1)
    y = boxes[:, 1::2].clamp(0, height - 1)
    return torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=1)


def random_rank_keys(num: int, img_meta: dict, seed: int, device) -> torch.Tensor:
    """Uniform random keys, reproducible per image: seeded by ``seed`` and the image's id."""
    image = str(img_meta.get('img_id', img_meta.get('img_path', '')))
    # torch's CPU generator keeps 32 bits of a seed: hash seed and image into 32 bits
    generator = torch.Generator().manual_seed(zlib.crc32(f'{int(seed)}:{image}'.encode()))
    return torch.rand(num, generator=generator).to(device)


@MODELS.register_module()
class PaperRPNHead(RPNHead):
    """mmdet ``RPNHead`` whose proposals follow py-faster-rcnn's ProposalLayer (one feature level).

    The proposal settings come from ``train_cfg.rpn_proposal`` / ``test_cfg.rpn`` as in mmdet:
    ``nms_pre``, ``max_per_img``, ``nms`` and ``min_bbox_size`` (in original-image pixels).
    An image without any anchor inside its border gets all anchors ignored (module docstring).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._warned_no_anchor_inside = set()  # files already named in a warning

    def _get_targets_single(self, flat_anchors, valid_flags, gt_instances: InstanceData, img_meta: dict,
                            gt_instances_ignore: Optional[InstanceData] = None,
                            unmap_outputs: bool = True) -> tuple:
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           self.train_cfg['allowed_border'])
        if inside_flags.any():
            return super()._get_targets_single(flat_anchors, valid_flags, gt_instances, img_meta,
                                               gt_instances_ignore, unmap_outputs)
        self._warn_no_anchor_inside(img_meta)
        # py-faster-rcnn anchor_target_layer: every label -1 (ignored), no regression target.
        # An empty assignment and sample keep mmdet's bookkeeping.
        no_anchors = InstanceData(priors=flat_anchors[:0])
        assign_result = self.assigner.assign(no_anchors, gt_instances, gt_instances_ignore)
        sampling_result = self.sampler.sample(assign_result, no_anchors, gt_instances)
        sampling_result.avg_factor = 0  # adds nothing to the batch's normaliser (mmdet's minimum is 2)
        num = flat_anchors.size(0) if unmap_outputs else 0
        labels = flat_anchors.new_full((num, ), self.num_classes, dtype=torch.long)
        label_weights = flat_anchors.new_zeros(num, dtype=torch.float)
        bbox_targets = flat_anchors.new_zeros(num, self.bbox_coder.encode_size)
        bbox_weights = flat_anchors.new_zeros(num, self.bbox_coder.encode_size)
        return (labels, label_weights, bbox_targets, bbox_weights, sampling_result.pos_inds,
                sampling_result.neg_inds, sampling_result)

    def _warn_no_anchor_inside(self, img_meta: dict) -> None:
        name = img_meta.get('img_path', img_meta.get('img_id', '?'))
        if name in self._warned_no_anchor_inside:
            return
        self._warned_no_anchor_inside.add(name)
        height, width = img_meta['img_shape'][:2]
        print_log(f'{name}: no anchor lies inside the image after resizing ({width}x{height}); all its '
                  f'anchors are ignored (no RPN loss from it, as py-faster-rcnn). '
                  f'tools/misc/check_dataset.py lists such images.', logger='current', level=logging.WARNING)

    def proposals_with_grad(self, cls_scores, bbox_preds, batch_img_metas: List[dict],
                            cfg: ConfigDict) -> List[InstanceData]:
        """Proposals whose boxes keep their graph back to ``bbox_preds`` (non-approximate joint
        training, §3.2 iii): decoding is differentiable, NMS and top-N only select. mmdet's
        ``predict_by_feat`` detaches the head outputs first; scores are detached here too."""
        results = []
        for img_id, img_meta in enumerate(batch_img_metas):
            results.append(self._predict_by_feat_single(
                [cls_scores[0][img_id].detach()], [bbox_preds[0][img_id]], None,
                self.prior_generator.grid_priors([cls_scores[0].shape[-2:]], dtype=bbox_preds[0].dtype,
                                                 device=bbox_preds[0].device),
                img_meta, cfg, rescale=False))
        return results

    def _predict_by_feat_single(self, cls_score_list, bbox_pred_list, score_factor_list,
                                mlvl_priors, img_meta: dict, cfg: ConfigDict,
                                rescale: bool = False, with_nms: bool = True) -> InstanceData:
        if len(cls_score_list) != 1:
            raise ValueError(f'PaperRPNHead expects one feature level (stride 16), got '
                             f'{len(cls_score_list)}')
        if not with_nms:
            raise ValueError('PaperRPNHead proposals always use NMS (with_nms=False given)')
        cfg = ConfigDict(self.test_cfg if cfg is None else cfg)
        rank_by = cfg.get('rank_by', 'objectness')
        if rank_by not in RANK_BY:
            raise UserInputError(f'RPN proposal settings (test_cfg.rpn): rank_by must be one of '
                                 f'{RANK_BY}, got {rank_by!r}')
        cls_score, bbox_pred, priors = cls_score_list[0], bbox_pred_list[0], mlvl_priors[0]
        deltas = bbox_pred.permute(1, 2, 0).reshape(-1, self.bbox_coder.encode_size)
        cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
        if self.use_sigmoid_cls:
            scores = cls_score.sigmoid().reshape(-1)
        else:  # mmdet's label order: foreground 0, background 1
            scores = cls_score.softmax(-1)[:, 0]
        if rank_by == 'random':  # Table 2 "no cls": a seeded random order instead of objectness
            scores = random_rank_keys(scores.numel(), img_meta, cfg.get('random_seed', 0), scores.device)

        # 1. decode every anchor, clip to the (resized) image
        if cfg.get('use_box_regression', True):
            bboxes = self.bbox_coder.decode(priors, deltas, max_shape=img_meta['img_shape'])
        else:  # Table 2 "no reg": the anchors, clipped as decoded boxes are
            bboxes = clip_to_image(priors, img_meta['img_shape'])
        # 2. minimum size at the original scale, inclusive widths (proposal_layer._filter_boxes)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size > 0:
            w_scale, h_scale = img_meta.get('scale_factor', (1.0, 1.0))[:2]
            keep = ((bboxes[:, 2] - bboxes[:, 0] + 1 >= min_size * w_scale) &
                    (bboxes[:, 3] - bboxes[:, 1] + 1 >= min_size * h_scale))
            bboxes, scores = bboxes[keep], scores[keep]
        # 3. top nms_pre by score, NMS, top max_per_img
        nms_pre = cfg.get('nms_pre', -1)
        if 0 < nms_pre < scores.numel():
            scores, order = scores.topk(nms_pre)
            bboxes = bboxes[order]
        results = InstanceData()
        if bboxes.numel() > 0:
            max_per_img = cfg.get('max_per_img', -1)
            nms_cfg = dict(cfg.get('nms') or {})
            if not cfg.get('use_nms', True):  # Table 2 "no NMS": top max_per_img, overlaps kept
                keep = scores.sort(descending=True, stable=True)[1]
                keep = keep[:max_per_img] if max_per_img > 0 else keep
                scores = scores[keep]
            elif nms_cfg.pop('type', 'nms') == 'nms' and set(nms_cfg) <= {'iou_threshold', 'offset'}:
                # Greedy NMS that stops once max_per_img boxes are kept (same result, ~20x less
                # work for 300 of 6000); see faster_rcnn_ops/nms.py.
                keep = nms(bboxes, scores, nms_cfg['iou_threshold'], nms_cfg.get('offset', 0),
                           max_per_img)
                scores = scores[keep]
            else:  # other NMS variants (e.g. soft-NMS) through mmcv
                dets, keep = batched_nms(bboxes, scores, scores.new_zeros(scores.shape, dtype=torch.long),
                                         cfg.nms)
                if max_per_img > 0:
                    keep, dets = keep[:max_per_img], dets[:max_per_img]
                scores = dets[:, -1]
            results.bboxes = bboxes[keep]
            results.scores = scores
        else:
            results.bboxes = bboxes.new_zeros((0, 4))
            results.scores = scores.new_zeros((0, ))
        if rescale:
            results.bboxes = scale_boxes(results.bboxes, [1 / s for s in img_meta['scale_factor']])
        results.labels = results.scores.new_zeros(len(results.scores), dtype=torch.long)
        return results
