"""PASCAL VOC detection AP as py-faster-rcnn computes it (``lib/datasets/voc_eval.py``, written by
``pascal_voc._write_voc_results_file``), the evaluation behind the paper's VOC numbers.

Where mmdet's ``VOCMetric`` (``eval_map``) differs, this follows py-faster-rcnn:

* detections are evaluated as py-faster-rcnn writes them to its results files: 1-based (``+ 1``),
  score rounded to 3 decimals (``'{:.3f}'``), coordinates to 1 decimal (``'{:.1f}'``);
  ground truth is the XML's integer corners (our 0-based boxes ``+ 1``);
* per class, detections of all images are sorted by score (``np.argsort(-confidence)``), each is
  matched to the same-class gt box of its image with the highest IoU (+1 areas, difficult and
  already-matched boxes included); a match needs IoU **greater than** 0.5 (mmdet: ``>=``); a
  match to a difficult box is neither TP nor FP, to an already-matched box FP, no match FP;
* ``npos`` counts the non-difficult gt; recall ``tp / npos``, precision ``tp / max(tp + fp, eps)``;
* AP: VOC07 11-point (``eval_mode='11points'``: mean over t in {0, 0.1, ..., 1} of the highest
  precision at recall >= t, 0 if none) or the area under the interpolated curve (``'area'``);
  mAP is the mean over **all** classes (a class without gt scores 0, as in py-faster-rcnn).
"""
from collections import OrderedDict
from typing import List, Sequence, Tuple

import numpy as np
from mmdet.evaluation.metrics import VOCMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger, print_log


def as_written(dets: np.ndarray) -> np.ndarray:
    """Detections ``(n, 5)`` ``[x1, y1, x2, y2, score]`` (0-based) as py-faster-rcnn's results file
    gives them back to ``voc_eval``: 1-based coordinates with one decimal, scores with three."""
    dets = np.asarray(dets, dtype=np.float32).reshape(-1, 5)
    out = np.empty(dets.shape, dtype=np.float64)
    coords = dets[:, :4] + np.float32(1)
    for i in range(dets.shape[0]):
        out[i, 4] = float(f'{float(dets[i, 4]):.3f}')
        out[i, :4] = [float(f'{float(c):.1f}') for c in coords[i]]
    return out


def voc_ap(recall: np.ndarray, precision: np.ndarray, use_07_metric: bool = True) -> float:
    """AP from a recall / precision curve (``voc_eval.voc_ap``)."""
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            above = recall >= t
            ap += (np.max(precision[above]) if above.any() else 0.0) / 11.0
        return float(ap)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def _overlaps(box: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU of one box with many, +1 areas (1-based inclusive corners)."""
    iw = np.maximum(np.minimum(gts[:, 2], box[2]) - np.maximum(gts[:, 0], box[0]) + 1.0, 0.0)
    ih = np.maximum(np.minimum(gts[:, 3], box[3]) - np.maximum(gts[:, 1], box[1]) + 1.0, 0.0)
    inter = iw * ih
    union = ((box[2] - box[0] + 1.0) * (box[3] - box[1] + 1.0) +
             (gts[:, 2] - gts[:, 0] + 1.0) * (gts[:, 3] - gts[:, 1] + 1.0) - inter)
    return inter / union


def voc_eval_class(gt_boxes: Sequence[np.ndarray], gt_difficult: Sequence[np.ndarray],
                   dets: Sequence[np.ndarray], iou_thr: float = 0.5,
                   use_07_metric: bool = True) -> Tuple[float, np.ndarray, np.ndarray]:
    """AP of one class. Per image: gt boxes ``(g, 4)`` 1-based, their difficult flags, and the
    detections ``(n, 5)`` already as written (:func:`as_written`). Returns ``(ap, recall,
    precision)``."""
    npos = int(sum(int((~np.asarray(d, bool)).sum()) for d in gt_difficult))
    image_ids = np.concatenate([np.full(len(d), i, dtype=np.int64) for i, d in enumerate(dets)]
                               ) if dets else np.zeros(0, np.int64)
    all_dets = np.concatenate([np.asarray(d, np.float64).reshape(-1, 5) for d in dets]) \
        if dets else np.zeros((0, 5))
    order = np.argsort(-all_dets[:, 4])
    all_dets, image_ids = all_dets[order], image_ids[order]
    matched = [np.zeros(len(g), dtype=bool) for g in gt_boxes]
    tp = np.zeros(len(all_dets))
    fp = np.zeros(len(all_dets))
    for k, (det, image) in enumerate(zip(all_dets, image_ids)):
        gts = np.asarray(gt_boxes[image], np.float64).reshape(-1, 4)
        overlaps = _overlaps(det[:4], gts) if len(gts) else np.zeros(0)
        if len(overlaps) and overlaps.max() > iou_thr:
            j = int(overlaps.argmax())
            if gt_difficult[image][j]:
                continue
            if matched[image][j]:
                fp[k] = 1
            else:
                tp[k], matched[image][j] = 1, True
        else:
            fp[k] = 1
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / npos if npos > 0 else np.zeros_like(tp)
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(recall, precision, use_07_metric), recall, precision


def voc_eval_per_class(results: Sequence[tuple], num_classes: int, iou_thr: float = 0.5,
                       use_07_metric: bool = True) -> List[float]:
    """Per-class AP from ``VOCMetric``-style results: one ``(ann, dets)`` per image, ``ann`` with
    ``bboxes`` / ``labels`` and ``bboxes_ignore`` / ``labels_ignore`` (difficult) in 0-based
    coordinates, ``dets`` one ``(n, 5)`` array per class."""
    aps = []
    for c in range(num_classes):
        gt_boxes, gt_difficult, dets = [], [], []
        for ann, image_dets in results:
            keep, keep_ignore = ann['labels'] == c, ann['labels_ignore'] == c
            boxes = np.concatenate([np.asarray(ann['bboxes']).reshape(-1, 4)[keep],
                                    np.asarray(ann['bboxes_ignore']).reshape(-1, 4)[keep_ignore]])
            gt_boxes.append(boxes.astype(np.float64) + 1.0)
            gt_difficult.append(np.r_[np.zeros(keep.sum(), bool), np.ones(keep_ignore.sum(), bool)])
            dets.append(as_written(image_dets[c]))
        aps.append(voc_eval_class(gt_boxes, gt_difficult, dets, iou_thr, use_07_metric)[0])
    return aps


@METRICS.register_module()
class PaperVOCMetric(VOCMetric):
    """mmdet ``VOCMetric`` whose mAP is py-faster-rcnn's ``voc_eval`` (module docstring); the
    arguments are ``VOCMetric``'s. ``metric='recall'`` is mmdet's."""

    def compute_metrics(self, results: list) -> dict:
        if self.metric != 'mAP':
            return super().compute_metrics(results)
        logger = MMLogger.get_current_instance()
        classes = self.dataset_meta['classes']
        use_07 = self.eval_mode == '11points'
        eval_results = OrderedDict()
        mean_aps = []
        for iou_thr in self.iou_thrs:
            aps = voc_eval_per_class(results, len(classes), iou_thr, use_07)
            lines = [f'{name:<15} {ap:.4f}' for name, ap in zip(classes, aps)]
            print_log(f'\nVOC AP (py-faster-rcnn voc_eval, IoU > {iou_thr}, '
                      f"{'11-point' if use_07 else 'area'}):\n" + '\n'.join(lines) +
                      f'\n{"mAP":<15} {np.mean(aps):.4f}', logger=logger)
            mean_aps.append(float(np.mean(aps)))
            eval_results[f'AP{int(iou_thr * 100):02d}'] = round(mean_aps[-1], 3)
        eval_results['mAP'] = sum(mean_aps) / len(mean_aps)
        eval_results.move_to_end('mAP', last=False)
        return eval_results
