"""Detections on several images as ONE picture a person can read: a grid (3 x 3 by default) of
cells at least 480 px on their long side, each detection above a score threshold after a display-only
class-agnostic NMS, its class and score on a filled label.

    python tools/demo/detection_grid.py DETECTIONS_JSON --out grid.png [--score-thr 0.3] [--nms-iou 0.5]
        [--cols 3] [--max-images 9] [--cell 480]

DETECTIONS_JSON is what ``tools/misc/infer.py`` writes (``[{"image": path, "detections": [{"class",
"label", "score", "bbox"}]}]``, original-image pixels). For each image:

* the detections scoring at least ``--score-thr``;
* then a class-agnostic NMS at ``--nms-iou``, *for display only*: the detector's own NMS is per class
  (paper §3.3, as py-faster-rcnn's test), so one shape that scores for three classes keeps three
  boxes; drawn on top of each other they hide each other's labels. The picture keeps the best of
  boxes overlapping by more than ``--nms-iou`` (boxes on a part of a shape, overlapping less, stay;
  so does a best box of the wrong class, and the caption says so); the evaluation
  (tools/test.py) is not affected;
* the image resized so that its long side is ``--cell`` px (the toy images are ~200 px: upscaled
  for display, which the caption says), boxes scaled with it;
* one coloured box per detection and a label "class score" on a filled background inside the
  image, above the box if there is room, else inside it or below it, never over another label.

Writes the PNG (a caption strip on top, then the grid of square cells) and prints its path.
"""
import json
import os
import os.path as osp
import sys
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.ops import nms

from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser
from faster_rcnn_paper.utils.user_input_error import UserFileNotFoundError, UserInputError

# Tableau 10 (BGR): one colour per class label.
PALETTE = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148),
           (75, 86, 140), (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]
BACKGROUND = (235, 235, 235)  # around an image that does not fill its square cell
FONT = cv2.FONT_HERSHEY_SIMPLEX
LABEL_SCALE, LABEL_THICKNESS, LABEL_PAD = 0.6, 1, 3
BOX_THICKNESS = 2
CAPTION_HEIGHT = 60
GAP = 12  # white space around each cell


def colour(label: int) -> Tuple[int, int, int]:
    return PALETTE[label % len(PALETTE)]


def display_detections(detections: Sequence[dict], score_thr: float, nms_iou: float) -> List[dict]:
    """The detections to draw: score >= ``score_thr``, then class-agnostic NMS at ``nms_iou``
    (highest score first)."""
    kept = [d for d in detections if d['score'] >= score_thr]
    if not kept:
        return []
    boxes = torch.tensor([d['bbox'] for d in kept], dtype=torch.float32).reshape(-1, 4)
    scores = torch.tensor([d['score'] for d in kept], dtype=torch.float32)
    _, order = nms(boxes, scores, nms_iou)
    return [kept[i] for i in order.tolist()]


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def place_label(box, size, width: int, height: int, taken: Sequence) -> Tuple[int, int, int, int]:
    """Where a label of ``size`` (w, h) goes for ``box`` (display pixels) inside a ``width`` x
    ``height`` image: above the box, inside its top, below it, inside its bottom — the first of
    these that overlaps no label in ``taken``, else the one overlapping them least. x is shifted to
    keep the label inside the image."""
    w, h = size
    x1, y1, x2, y2 = box
    x = int(min(max(x1, 0), max(width - w, 0)))
    candidates = [y1 - h, y1, y2, y2 - h]
    rects = []
    for y in candidates:
        y = int(min(max(y, 0), max(height - h, 0)))
        rects.append((x, y, x + w, y + h))
    return min(rects, key=lambda r: sum(_overlap(r, t) for t in taken))  # first of the least overlapping


def draw_cell(image: np.ndarray, detections: Sequence[dict], cell: int):
    """``image`` (BGR) resized to a long side of ``cell`` px, centred in a ``cell`` x ``cell``
    square, with ``detections`` (original pixels) drawn. Returns (cell picture, layout): the layout
    gives the image's rectangle in the cell, the scale, and each drawn box and label rectangle (cell
    pixels)."""
    height, width = image.shape[:2]
    scale = cell / max(height, width)
    w, h = max(int(round(width * scale)), 1), max(int(round(height * scale)), 1)
    shown = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    labels = []
    for det in detections:
        x1, y1, x2, y2 = [float(v) * scale for v in det['bbox']]
        box = (int(round(max(x1, 0))), int(round(max(y1, 0))), int(round(min(x2, w - 1))), int(round(min(y2, h - 1))))
        cv2.rectangle(shown, box[:2], box[2:], colour(det['label']), BOX_THICKNESS, cv2.LINE_AA)
        labels.append((box, det))
    drawn, taken = [], []
    for box, det in labels:  # labels after every box: no box line crosses a label
        text = f"{det['class']} {det['score']:.2f}"
        (tw, th), baseline = cv2.getTextSize(text, FONT, LABEL_SCALE, LABEL_THICKNESS)
        size = (tw + 2 * LABEL_PAD, th + baseline + 2 * LABEL_PAD)
        rect = place_label(box, size, w, h, taken)
        fill = colour(det['label'])
        cv2.rectangle(shown, rect[:2], (rect[2] - 1, rect[3] - 1), fill, cv2.FILLED)
        ink = (0, 0, 0) if 0.114 * fill[0] + 0.587 * fill[1] + 0.299 * fill[2] > 150 else (255, 255, 255)
        cv2.putText(shown, text, (rect[0] + LABEL_PAD, rect[3] - LABEL_PAD - baseline), FONT, LABEL_SCALE, ink,
                    LABEL_THICKNESS, cv2.LINE_AA)
        taken.append(rect)
        drawn.append(dict(label=det['label'], score=det['score'], box=box, text=text, label_rect=rect))
    picture = np.full((cell, cell, 3), BACKGROUND, dtype=np.uint8)
    ox, oy = (cell - w) // 2, (cell - h) // 2
    picture[oy:oy + h, ox:ox + w] = shown
    shift = lambda r: (r[0] + ox, r[1] + oy, r[2] + ox, r[3] + oy)  # noqa: E731
    for item in drawn:
        item['box'], item['label_rect'] = shift(item['box']), shift(item['label_rect'])
    return picture, dict(image_rect=(ox, oy, ox + w, oy + h), scale=scale, detections=drawn)


def caption_strip(width: int, lines: Sequence[str]) -> np.ndarray:
    strip = np.full((CAPTION_HEIGHT, width, 3), 255, dtype=np.uint8)
    for k, line in enumerate(lines[:2]):
        cv2.putText(strip, line, (8, 24 + 26 * k), FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def make_grid(report: Sequence[dict], out: str, score_thr: float = 0.3, nms_iou: float = 0.5, cols: int = 3,
              max_images: int = 9, cell: int = 480) -> dict:
    """Writes the grid PNG of the first ``max_images`` images of ``report`` (tools/misc/infer.py's
    detections.json): a caption strip, then ``cols`` cells per row, ``GAP`` px apart. Returns its
    layout: cell size, gap, caption and one entry per cell (image, ``cell_origin`` in the PNG,
    draw_cell's layout in cell pixels)."""
    if cell < 1 or cols < 1 or max_images < 1:
        raise UserInputError(f'--cell, --cols and --max-images must be positive (got {cell}, {cols}, {max_images})')
    items = list(report)[:max_images]
    if not items:
        raise UserInputError('no images in the detections file')
    pictures, cells, sizes = [], [], []
    for item in items:
        image = cv2.imread(item['image'], cv2.IMREAD_COLOR)
        if image is None:
            raise UserFileNotFoundError(f"image not found or unreadable: {item['image']}")
        sizes.append(max(image.shape[:2]))
        picture, layout = draw_cell(image, display_detections(item['detections'], score_thr, nms_iou), cell)
        pictures.append(picture)
        cells.append(dict(image=item['image'], **layout))
    rows, cols = -(-len(pictures) // cols), min(cols, len(pictures))
    step = cell + GAP
    grid = np.full((rows * step + GAP, cols * step + GAP, 3), 255, dtype=np.uint8)
    for k, (picture, layout) in enumerate(zip(pictures, cells)):
        r, c = divmod(k, cols)
        x, y = GAP + c * step, GAP + r * step
        grid[y:y + cell, x:x + cell] = picture
        layout['cell_origin'] = (x, CAPTION_HEIGHT + y)
    resized = 'upscaled' if max(sizes) < cell else 'resized'
    lines = [f'Detections scoring >= {score_thr:g} after a class-agnostic NMS at IoU {nms_iou:g} (display only; '
             'boxes overlapping less, and wrong classes, stay)',
             f'{len(items)} test images, {resized} for display from {min(sizes)}-{max(sizes)} px to {cell} px '
             'on the long side']
    grid = np.vstack([caption_strip(grid.shape[1], lines), grid])
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    if not cv2.imwrite(out, grid):
        raise UserInputError(f'could not write {out}')
    return dict(out=out, cell=cell, gap=GAP, caption_height=CAPTION_HEIGHT, caption=lines, cells=cells)


def main(argv=None):
    parser = tool_parser(__doc__)
    parser.add_argument('detections', help="tools/misc/infer.py's detections.json")
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--nms-iou', type=float, default=0.5, help='class-agnostic NMS for display')
    parser.add_argument('--cols', type=int, default=3)
    parser.add_argument('--max-images', type=int, default=9)
    parser.add_argument('--cell', type=int, default=480, help='cell size (px): the long side of each image')
    args = parser.parse_args(argv)
    if not osp.isfile(args.detections):
        raise UserFileNotFoundError(f'detections file not found: {args.detections}')
    with open(args.detections) as f:
        report = json.load(f)
    layout = make_grid(report, args.out, args.score_thr, args.nms_iou, args.cols, args.max_images, args.cell)
    print(f"detection grid: {layout['out']} ({len(layout['cells'])} images, {args.cell} px cells)")
    return layout


if __name__ == '__main__':
    sys.exit(run_tool(main))
