"""Detect objects in images with a trained checkpoint: pictures with boxes and class names (PNG)
and the detections as JSON. A thin layer over MMDetection's ``DetInferencer`` (which works on our
configs directly: ``DetInferencer(model=CONFIG, weights=CHECKPOINT)``), adding strict checkpoint
loading, one PNG per image and one JSON file.

    python tools/misc/infer.py CONFIG CHECKPOINT IMAGE_OR_FOLDER [...] --out-dir DIR [--score-thr 0.5] [--debug]

A folder stands for the image files in it (not its subfolders; the extensions ``DetInferencer``
takes, in any case), as for ``DetInferencer``. Writes one picture per image and DIR/detections.json:
``[{"image": path, "picture": path, "detections": [{"class": name, "label": int, "score": float,
"bbox": [x1, y1, x2, y2]}, ...]}, ...]`` (original-image pixels, all detections above
``--score-thr``). A picture's path below DIR is the image's path below the folder that holds all the
inputs, with ``.png`` for its extension (``a/000001.jpg`` and ``b/000001.jpg`` give
``DIR/a/000001.png`` and ``DIR/b/000001.png``; ``x.jpg`` beside ``x.png`` give ``x.jpg.png`` and
``x.png.png``): two inputs never write the same picture. Every input is decoded before the model is
built: a missing, empty or undecodable file is an error naming all such files. A weight of the model
missing from the checkpoint or of another shape is an error naming the keys; errors the user caused
print as one line (``--debug``: with the traceback).
"""
import json
import os
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List

import mmcv
from mmdet.apis import DetInferencer
from mmdet.apis.det_inferencer import IMG_EXTENSIONS

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.utils.strict_loading import check_checkpoint_fits, read_checkpoint
from faster_rcnn_paper.utils.tool_config import check_writable_dir, read_config
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser
from faster_rcnn_paper.utils.user_input_error import UserFileNotFoundError, UserInputError

#: Unreadable inputs named in the error message.
SHOWN_FILES = 5


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


def expand_inputs(inputs: List[str]) -> List[str]:
    """The image files of ``inputs``: a folder stands for its image files (sorted, as listed by
    ``DetInferencer``: not recursive, its image extensions in any case); a missing path is an error."""
    images = []
    for path in inputs:
        if osp.isdir(path):
            found = sorted(name for name in os.listdir(path) if name.lower().endswith(IMG_EXTENSIONS)
                           and osp.isfile(osp.join(path, name)))
            if not found:
                raise UserFileNotFoundError(f'no image files ({", ".join(IMG_EXTENSIONS)}) in the folder {path}')
            images += [osp.join(path, name) for name in found]
        elif not osp.isfile(path):
            raise UserFileNotFoundError(f'image not found: {path}')
        else:
            images.append(path)
    return images


def check_decodable(images: List[str]) -> None:
    """Decode every image as ``LoadImageFromFile`` does (``mmcv.imfrombytes``); an empty or
    undecodable file is a :class:`UserInputError` naming all such files."""
    bad = []
    for path in images:
        with open(path, 'rb') as f:
            content = f.read()
        if not content:
            bad.append(f'{path} (empty file)')
            continue
        try:
            decoded = mmcv.imfrombytes(content) is not None
        except Exception:  # noqa: BLE001 (a decoder error on the file's content)
            decoded = False
        if not decoded:
            bad.append(f'{path} (not a decodable image)')
    if bad:
        more = f', ... ({len(bad)} in all)' if len(bad) > SHOWN_FILES else ''
        raise UserInputError(f'cannot read {len(bad)} of the {len(images)} inputs as images: '
                             + ', '.join(bad[:SHOWN_FILES]) + more)


def picture_names(images: List[str]) -> Dict[str, str]:
    """image path -> its picture's path relative to the output dir: the image's path below the
    deepest folder holding every input, with ``.png`` for its extension; images whose names differ
    only in the extension keep it (``x.jpg.png``). Distinct files never share a name."""
    absolute = {path: osp.abspath(path) for path in images}
    top = osp.commonpath([osp.dirname(p) for p in absolute.values()])
    relative = {path: osp.relpath(a, top) for path, a in absolute.items()}
    stems = Counter(osp.splitext(r)[0] for r in set(relative.values()))
    names = {path: (osp.splitext(r)[0] if stems[osp.splitext(r)[0]] == 1 else r) + '.png'
             for path, r in relative.items()}
    if len(set(names.values())) < len(set(relative.values())):  # e.g. x.jpg, x.png and x.jpg.png
        names = {path: r + '.png' for path, r in relative.items()}
    return names


def detect(config: str, checkpoint: str, inputs: List[str], out_dir: str,
           score_thr: float = 0.5, device: str = 'cpu') -> List[dict]:
    images = expand_inputs(inputs)
    check_decodable(images)
    check_writable_dir(out_dir, '--out-dir')
    read_checkpoint(checkpoint)  # a missing or unreadable file as one line (DetInferencer reads it again)
    inferencer = StrictDetInferencer(model=read_config(config), weights=checkpoint, device=device,
                                     show_progress=False)
    classes = inferencer.model.dataset_meta['classes']
    results = inferencer(images, return_vis=True, no_save_vis=True, return_datasamples=True,
                         pred_score_thr=score_thr)
    names = picture_names(images)
    report = []
    for path, result, picture in zip(images, results['predictions'], results['visualization']):
        pred = result.pred_instances
        keep = pred.scores > score_thr
        detections = [dict(label=int(label), score=round(float(score), 4), bbox=[round(float(v), 1) for v in box],
                           **{'class': classes[int(label)]})
                      for box, score, label in zip(pred.bboxes[keep], pred.scores[keep], pred.labels[keep])]
        report.append(dict(image=path, picture=names[path], detections=detections))
        mmcv.imwrite(mmcv.rgb2bgr(picture), osp.join(out_dir, names[path]))  # creates its folder
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'detections.json'), 'w') as f:
        json.dump(report, f, indent=1)
    return report


def main(argv=None):
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+', help='image files and folders of images')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--score-thr', type=float, default=0.5)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    report = detect(args.config, args.checkpoint, args.images, args.out_dir, args.score_thr, args.device)
    for item in report:
        found = ', '.join(f"{d['class']} {d['score']:.2f}" for d in item['detections']) or 'nothing'
        print(f"{item['image']} -> {item['picture']}: {found}")
    print(f'pictures and detections.json in {args.out_dir}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
