"""tools/demo/detection_grid.py: the demo's picture — one PNG, 3 x 3 cells of >= 480 px, one box per
object, labels inside the image and never over each other (a generated case, no model)."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.tiny import REPO, tool_env
from tests.tools import load_tool

CELL = 480
# Per image (120 x 90 px): two objects side by side, their tops level, so that the labels' first
# choice (above each box) would collide; each object is detected as three classes (the detector's
# per-class NMS keeps one box per class), plus one detection below the score threshold.
OBJECTS = [(10, 30, 52, 80), (54, 30, 100, 80)]


def detections_for(obj_index, box):
    x1, y1, x2, y2 = box
    near = [x1 + 1, y1 + 1, x2 - 1, y2]  # the same shape, another class
    return [dict(label=obj_index, score=0.9, bbox=list(box), **{'class': f'class{obj_index}'}),
            dict(label=obj_index + 2, score=0.7, bbox=near, **{'class': f'class{obj_index + 2}'}),
            dict(label=4, score=0.4, bbox=[x1, y1 + 1, x2, y2 - 1], **{'class': 'class4'})]


@pytest.fixture
def report(tmp_path):
    items = []
    for k in range(9):
        image = np.full((90, 120, 3), 40 + 10 * k, dtype=np.uint8)
        for x1, y1, x2, y2 in OBJECTS:
            image[y1:y2, x1:x2] = (200, 200, 200)
        path = str(tmp_path / f'{k:06d}.jpg')
        cv2.imwrite(path, image)
        dets = [d for i, box in enumerate(OBJECTS) for d in detections_for(i, box)]
        dets.append(dict(label=1, score=0.1, bbox=[0, 0, 20, 20], **{'class': 'class1'}))  # below the threshold
        items.append(dict(image=path, detections=dets))
    return items


def iou(a, b):
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def test_grid_one_box_per_object_large_cells_labels_apart(tmp_path, report):
    grid = load_tool('demo/detection_grid')
    out = str(tmp_path / 'grid.png')
    layout = grid.make_grid(report, out, score_thr=0.3, nms_iou=0.5)
    picture = cv2.imread(out)
    gap, caption = layout['gap'], layout['caption_height']
    assert picture.shape == (caption + 3 * (CELL + gap) + gap, 3 * (CELL + gap) + gap, 3)
    assert len(layout['cells']) == 9
    assert 'upscaled for display from 120-120 px to 480 px' in layout['caption'][1]
    for line in layout['caption']:  # every caption line fits the picture's width
        (width, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
        assert 8 + width <= picture.shape[1], line
    for cell in layout['cells']:
        x1, y1, x2, y2 = cell['image_rect']
        assert max(x2 - x1, y2 - y1) >= 480  # the long side of every image
        scale = cell['scale']
        drawn = cell['detections']
        for obj_index, obj in enumerate(OBJECTS):
            shown = [v * scale + (x1 if k % 2 == 0 else y1) for k, v in enumerate(obj)]
            on_it = [d for d in drawn if iou(d['box'], shown) > 0.5]
            assert len(on_it) == 1, (cell['image'], obj, on_it)  # one box per object ...
            assert on_it[0]['label'] == obj_index and on_it[0]['text'] == f'class{obj_index} 0.90'  # ... the best
        assert len(drawn) == len(OBJECTS)  # nothing below the score threshold
        rects = [d['label_rect'] for d in drawn]
        for a, rect in enumerate(rects):
            assert x1 <= rect[0] and rect[2] <= x2 and y1 <= rect[1] and rect[3] <= y2  # inside the image
            assert rect[3] - rect[1] >= 16  # legible: ~12-px glyphs with padding
            for other in rects[a + 1:]:
                assert iou(rect, other) == 0.0  # labels never over each other
        ox, oy = cell['cell_origin']
        for d in drawn:  # the label's filled background, in the class colour, in the PNG
            rx, ry = d['label_rect'][:2]
            assert tuple(int(v) for v in picture[oy + ry + 1, ox + rx + 1]) == grid.colour(d['label'])


def test_display_nms_keeps_separate_objects():
    grid = load_tool('demo/detection_grid')
    dets = [dict(label=0, score=0.8, bbox=[0, 0, 10, 10]), dict(label=1, score=0.9, bbox=[0, 0, 10, 11]),
            dict(label=0, score=0.6, bbox=[20, 0, 30, 10]), dict(label=2, score=0.2, bbox=[40, 0, 50, 10])]
    kept = grid.display_detections(dets, score_thr=0.3, nms_iou=0.5)
    assert [(d['label'], d['score']) for d in kept] == [(1, 0.9), (0, 0.6)]
    assert grid.display_detections([], 0.3, 0.5) == []


def test_cli_writes_png_and_names_a_missing_image(tmp_path, report):
    det_file = tmp_path / 'detections.json'
    det_file.write_text(json.dumps(report[:4]))
    out = tmp_path / 'grid.png'
    proc = subprocess.run([sys.executable, 'tools/demo/detection_grid.py', str(det_file), '--out', str(out)],
                          cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert cv2.imread(str(out)).shape[:2] == (60 + 2 * (CELL + 12) + 12, 3 * (CELL + 12) + 12)  # 4 images: 2 rows
    det_file.write_text(json.dumps([dict(image='missing.jpg', detections=[])]))
    bad = subprocess.run([sys.executable, 'tools/demo/detection_grid.py', str(det_file), '--out', str(out)],
                         cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and 'image not found or unreadable: missing.jpg' in bad.stderr
