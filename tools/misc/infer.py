"""Detect objects in images with a trained checkpoint: pictures with boxes and class names (PNG)
and the detections as JSON. A thin layer over MMDetection's ``DetInferencer`` (which works on our
configs directly: ``DetInferencer(model=CONFIG, weights=CHECKPOINT)``), adding strict checkpoint
loading, one PNG per image and one JSON file.

    python tools/misc/infer.py CONFIG CHECKPOINT IMAGE [IMAGE ...] --out-dir DIR [--score-thr 0.5] [--debug]

Writes DIR/<image name>.png for every image and DIR/detections.json:
``[{"image": path, "detections": [{"class": name, "label": int, "score": float,
"bbox": [x1, y1, x2, y2]}, ...]}, ...]`` (original-image pixels, all detections above
``--score-thr``). A weight of the model missing from the checkpoint or of another shape is an error
naming the keys; errors the user caused print as one line (``--debug``: with the traceback).
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List

import mmcv
from mmdet.apis import DetInferencer

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.utils.strict_loading import check_checkpoint_fits, read_checkpoint
from faster_rcnn_paper.utils.tool_config import read_config
from faster_rcnn_paper.utils.tool_errors import run_tool
from faster_rcnn_paper.utils.user_input_error import UserFileNotFoundError


class StrictDetInferencer(DetInferencer):
    """``DetInferencer`` that refuses a checkpoint missing weights of the model or shaping them
    otherwise (mmdet loads with ``strict=False`` and only warns)."""

    def __init__(self, model, weights: str, **kwargs) -> None:
        self._weights_file = weights
        super().__init__(model=model, weights=weights, **kwargs)

    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        if checkpoint is not None:
            check_checkpoint_fits(model, checkpoint, self._weights_file)
        super()._load_weights_to_model(model, checkpoint, cfg)


def detect(config: str, checkpoint: str, images: List[str], out_dir: str,
           score_thr: float = 0.5, device: str = 'cpu') -> List[dict]:
    for path in images:
        if not osp.isfile(path):
            raise UserFileNotFoundError(f'image not found: {path}')
    read_checkpoint(checkpoint)  # a missing or unreadable file as one line (DetInferencer reads it again)
    inferencer = StrictDetInferencer(model=read_config(config), weights=checkpoint, device=device,
                                     show_progress=False)
    classes = inferencer.model.dataset_meta['classes']
    results = inferencer(images, return_vis=True, no_save_vis=True, return_datasamples=True,
                         pred_score_thr=score_thr)
    os.makedirs(out_dir, exist_ok=True)
    report = []
    for path, result, picture in zip(images, results['predictions'], results['visualization']):
        pred = result.pred_instances
        keep = pred.scores > score_thr
        detections = [dict(label=int(label), score=round(float(score), 4), bbox=[round(float(v), 1) for v in box],
                           **{'class': classes[int(label)]})
                      for box, score, label in zip(pred.bboxes[keep], pred.scores[keep], pred.labels[keep])]
        report.append(dict(image=path, detections=detections))
        name = osp.splitext(osp.basename(path))[0]
        mmcv.imwrite(mmcv.rgb2bgr(picture), osp.join(out_dir, f'{name}.png'))
    with open(osp.join(out_dir, 'detections.json'), 'w') as f:
        json.dump(report, f, indent=1)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--score-thr', type=float, default=0.5)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    report = detect(args.config, args.checkpoint, args.images, args.out_dir, args.score_thr, args.device)
    for item in report:
        found = ', '.join(f"{d['class']} {d['score']:.2f}" for d in item['detections']) or 'nothing'
        print(f"{item['image']}: {found}")
    print(f'pictures and detections.json in {args.out_dir}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
