"""PaperVOCMetric against a transcription of py-faster-rcnn's results files + voc_eval.py."""
import numpy as np
import pytest

import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import METRICS
from mmengine.registry import init_default_scope
from tests.py_faster_rcnn_reference import voc_eval_all

init_default_scope('mmdet')
CLASSES = ('circle', 'square', 'triangle')


def metric(name='PaperVOCMetric', eval_mode='11points'):
    m = METRICS.build(dict(type=name, metric='mAP', eval_mode=eval_mode))
    m.dataset_meta = dict(classes=CLASSES)
    return m


def reference_aps(tmp_path, images, use_07_metric=True):
    """images: list of (gts [(label, box 0-based, difficult)], dets {label: (n, 5) 0-based})."""
    index = [f'{i:06d}' for i in range(len(images))]
    recs = {name: [dict(name=CLASSES[label], difficult=int(diff), bbox=[int(v) + 1 for v in box])
                   for label, box, diff in gts] for name, (gts, _) in zip(index, images)}
    all_boxes = [[]] + [[dets.get(c, np.zeros((0, 5), np.float32)) for _, dets in images]
                        for c in range(len(CLASSES))]
    return voc_eval_all(tmp_path, index, all_boxes, recs, ('__background__', ) + CLASSES, use_07_metric)


def as_results(images):
    """VOCMetric.process's (ann, dets) per image."""
    results = []
    for gts, dets in images:
        def pick(difficult):
            chosen = [(label, box) for label, box, diff in gts if bool(diff) == difficult]
            return (np.array([l for l, _ in chosen], np.int64),
                    np.array([b for _, b in chosen], np.float32).reshape(-1, 4))
        labels, boxes = pick(False)
        labels_ignore, boxes_ignore = pick(True)
        ann = dict(labels=labels, bboxes=boxes, labels_ignore=labels_ignore, bboxes_ignore=boxes_ignore)
        results.append((ann, [dets.get(c, np.zeros((0, 5), np.float32)) for c in range(len(CLASSES))]))
    return results


def dets(*rows):
    return np.array(rows, np.float32).reshape(-1, 5)


def test_iou_exactly_half_is_no_match(tmp_path):
    # gt 10 x 10, detection 20 x 10 over it: IoU (+1 areas) = 100 / 200 = 0.5 exactly.
    images = [([(0, [0, 0, 9, 9], 0)], {0: dets([0, 0, 19, 9, 0.9])}),
              ([(1, [5, 5, 30, 30], 0)], {1: dets([5, 5, 30, 30, 0.8])})]
    ref = reference_aps(tmp_path, images)
    assert ref[0] == 0.0 and ref[1] == pytest.approx(1.0)
    ours = metric().compute_metrics(as_results(images))
    assert ours['mAP'] == pytest.approx(np.mean(ref))
    # mmdet's VOCMetric counts IoU >= 0.5 as a match: the test tells the two apart.
    assert metric('VOCMetric').compute_metrics(as_results(images))['mAP'] > ours['mAP']


def test_tied_scores_after_rounding_and_difficult(tmp_path):
    # Scores 0.5004 and 0.4996 are both written as 0.500; a false positive and a true positive tie.
    images = [([(0, [10, 10, 50, 50], 0), (0, [100, 100, 140, 150], 1)],
               {0: dets([200, 200, 240, 240, 0.5004], [10, 10, 50, 50, 0.4996],
                        [100, 100, 140, 150, 0.7])}),  # matches the difficult box: ignored
              ([(0, [0, 0, 20, 20], 0), (2, [30, 30, 60, 90], 0)],
               {0: dets([0, 0, 20, 21, 0.30049], [1, 0, 20, 20, 0.2]),  # second: already matched, FP
                2: dets([30.04, 30, 60, 90, 0.06])})]
    ref = reference_aps(tmp_path, images)
    ours = metric().compute_metrics(as_results(images))
    assert ours['mAP'] == pytest.approx(np.mean(ref), abs=1e-12)


@pytest.mark.parametrize('seed,eval_mode', [(0, '11points'), (1, '11points'), (2, 'area'), (3, '11points')])
def test_random_detections(tmp_path, seed, eval_mode):
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(25):
        gts, per_class = [], {}
        for _ in range(int(rng.integers(0, 5))):
            x, y = rng.integers(0, 300, 2)
            box = [int(x), int(y), int(x + rng.integers(5, 120)), int(y + rng.integers(5, 120))]
            label = int(rng.integers(0, 3))
            gts.append((label, box, int(rng.random() < 0.15)))
            for _ in range(int(rng.integers(0, 3))):  # detections near the gt box
                jitter = rng.normal(0, 6, 4)
                per_class.setdefault(label, []).append(list(np.array(box) + jitter) + [rng.random()])
        for _ in range(int(rng.integers(0, 4))):  # background detections
            x, y = rng.uniform(0, 300, 2)
            per_class.setdefault(int(rng.integers(0, 3)), []).append(
                [x, y, x + rng.uniform(5, 80), y + rng.uniform(5, 80), rng.random() * 0.6])
        images.append((gts, {c: dets(*rows) for c, rows in per_class.items()}))
    ref = reference_aps(tmp_path, images, use_07_metric=eval_mode == '11points')
    ours = metric(eval_mode=eval_mode).compute_metrics(as_results(images))
    assert ours['mAP'] == pytest.approx(np.mean(ref), abs=1e-12)
    assert ours['AP50'] == round(np.mean(ref), 3)
