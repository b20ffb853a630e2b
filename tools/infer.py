"""Detect objects in images with a trained checkpoint: pictures with boxes and class names (PNG)
and the detections as JSON.

    python tools/infer.py CONFIG CHECKPOINT IMAGE [IMAGE ...] --out-dir DIR [--score-thr 0.5]

Writes DIR/<image name>.png for every image and DIR/detections.json:
``[{"image": path, "detections": [{"class": name, "label": int, "score": float,
"bbox": [x1, y1, x2, y2]}, ...]}, ...]`` (original-image pixels, all detections above
``--score-thr``).
"""
import argparse
import json
import os
import os.path as osp
from typing import List

import mmcv
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import VISUALIZERS
from mmengine.config import Config

import faster_rcnn_paper  # noqa: F401  (registers the components)


def detect(config: str, checkpoint: str, images: List[str], out_dir: str,
           score_thr: float = 0.5, device: str = 'cpu') -> List[dict]:
    cfg = Config.fromfile(config)
    # Inference reads no annotations.
    pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = [t for t in pipeline if t['type'] != 'LoadAnnotations']
    model = init_detector(cfg, checkpoint, device=device)
    classes = model.dataset_meta['classes']
    visualizer = VISUALIZERS.build(dict(type='DetLocalVisualizer', name='infer'))
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(out_dir, exist_ok=True)
    report = []
    for path in images:
        if not osp.isfile(path):
            raise FileNotFoundError(f'image not found: {path}')
        result = inference_detector(model, path)
        pred = result.pred_instances
        keep = pred.scores > score_thr
        detections = [dict(label=int(label), score=round(float(score), 4), bbox=[round(float(v), 1) for v in box],
                           **{'class': classes[int(label)]})
                      for box, score, label in zip(pred.bboxes[keep], pred.scores[keep], pred.labels[keep])]
        report.append(dict(image=path, detections=detections))
        image = mmcv.imconvert(mmcv.imread(path), 'bgr', 'rgb')
        name = osp.splitext(osp.basename(path))[0]
        visualizer.add_datasample(name, image, result, draw_gt=False, show=False,
                                  pred_score_thr=score_thr, out_file=osp.join(out_dir, f'{name}.png'))
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
    main()
