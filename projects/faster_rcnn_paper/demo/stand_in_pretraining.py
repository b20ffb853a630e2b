"""A stand-in for ImageNet pre-training, so the offline demo keeps the paper's pipeline shape.

The paper initialises the shared convs and fc6/fc7 from an ImageNet classifier (§3.1.3, §4). No
ImageNet weights can be had offline, so the demo first trains the same layers on a small generated
classification task and saves them in exactly the layout ``tools/model_converters/convert_imagenet_weights.py``
writes for real ImageNet weights (``backbone.*`` and ``roi_head.bbox_head.fc6/fc7.*``). The
detector then loads them through the same ``init_cfg=dict(type='Pretrained', ...)`` path.

:func:`pretrain_on_toy_images`: regions of whole toy images (a different seed than the demo
dataset), shown at the detector's training scale, are classified through the detector's own path
— backbone, RoI max pooling of the region's box, fc6 → fc7 with the head's dropout (Caffe's
``scale_train: false`` for ZF) → a linear layer over the toy classes plus background. Regions are
every object's box and jittered copies of it (IoU >= 0.7), boxes on a part of an object or offset
from it (IoU 0.1-0.5, background: what a detector's classifier must reject, and the commonest
false positive of the demo detector before they were added — 398 of its 696 detections scoring
>= 0.3 overlapped an object by IoU 0.1-0.5; with them the demo's mAP went from 0.519 to 0.661)
and background boxes (IoU < 0.3 with every object). Going through the detector's RoI pooling at
its scale matters: an earlier stand-in that classified whole 64-px crops gave fc7 features
dominated by one common direction, from which a fresh Fast R-CNN classifier learned almost nothing
in the demo's few hundred SGD iterations (toy test mAP 0.12, against 0.39 with the first version
of this one; README, "What `make demo` does").

Inputs are preprocessed as the detector's (BGR minus the config's pixel means).
"""
import logging
import math
import time
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch
from faster_rcnn_ops import RoIPool
from mmengine.logging import print_log
from torch import nn
from torch.nn import functional as F

from ..models.layers.caffe_dropout import CaffeDropout
from .toy_voc import TOY_CLASSES, render_toy_image, toy_rng
from ..utils.atomic_write import atomic_torch_save


class RoIClassifier(nn.Module):
    """Backbone → RoI max pooling of boxes to ``roi_size`` → fc6 → fc7 → logits (classes +
    background): the detector's own path from image to fc7 (its RoI pooling op, its dropout)."""

    def __init__(self, backbone: nn.Module, in_channels: int, roi_size: int, fc_channels: int,
                 num_classes: int, dropout: float = 0.5, caffe_dropout: bool = False,
                 stride: int = 16) -> None:
        super().__init__()
        self.backbone = backbone
        self.roi_size = roi_size
        self.fc6 = nn.Linear(in_channels * roi_size * roi_size, fc_channels)
        self.fc7 = nn.Linear(fc_channels, fc_channels)
        self.fc8 = nn.Linear(fc_channels, num_classes)
        # The head's dropout (ZF: Caffe's scale_train=false, which halves fc6/fc7 activations at
        # test time), so that fc7 and the classifier see inputs on the scale they will in the detector.
        self.dropout = CaffeDropout(dropout, scale_train=False) if caffe_dropout else nn.Dropout(dropout)
        for fc in (self.fc6, self.fc7):
            nn.init.xavier_uniform_(fc.weight)
            nn.init.zeros_(fc.bias)
        nn.init.normal_(self.fc8.weight, std=0.01)
        nn.init.zeros_(self.fc8.bias)
        self.roi_pool = RoIPool(roi_size, 1.0 / stride)  # the detector's RoI pooling (Caffe semantics)

    def forward(self, images: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """``rois``: (K, 5) rows (image index, x1, y1, x2, y2) in input pixels."""
        x = self.roi_pool(self.backbone(images)[0], rois)
        x = self.dropout(F.relu(self.fc6(x.flatten(1))))
        x = self.dropout(F.relu(self.fc7(x)))
        return self.fc8(x)


def _save_in_imagenet_layout(model: nn.Module, summary: dict, out_file: str) -> None:
    """Writes ``model``'s backbone and fc6/fc7 under the detector's key paths (the layout of
    tools/model_converters/convert_imagenet_weights.py), atomically, with ``summary`` as meta."""
    state = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
    for name in ('fc6', 'fc7'):
        for param, value in getattr(model, name).state_dict().items():
            state[f'roi_head.bbox_head.{name}.{param}'] = value
    atomic_torch_save({'state_dict': {k: v.contiguous() for k, v in state.items()}, 'meta': summary}, out_file)
    print_log(f"stand-in pre-training: held-out region accuracy {summary['held_out_accuracy']:.3f} "
              f'-> {out_file}', logger='current', level=logging.INFO)

# Iterations of the stand-in pre-training (of 2 images each) the demo runs. 200 gave held-out
# accuracy 0.939 and toy-test mAP 0.783 after the demo's training; 300 gave 0.954 and 0.824 with
# 100 fewer step-2 iterations (configs/faster_rcnn_zf_alternating_toyvoc.py).
STAND_IN_ITERS = 300


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box with (N, 4) boxes (0-based inclusive corners, +1 areas)."""
    if len(boxes) == 0:
        return np.zeros(0)
    iw = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]) + 1
    ih = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]) + 1
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)  # noqa: E731
    return inter / (area(box) + area(boxes) - inter)


def toy_scene_images(seed: int, num_images: int, scale: Tuple[int, int]) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Toy images made as the demo data are (shorter side ``min(scale)``, longer side up to
    ``max(scale)``) and resized as the detector resizes them (``scale`` = (long, short) sides,
    keeping the aspect ratio; a no-op for these), with their non-difficult objects: a list of
    (image H×W×3 uint8 BGR, boxes (N, 4) float32 in the resized image, labels (N,))."""
    out = []
    for index in range(1, num_images + 1):
        toy = render_toy_image(toy_rng(seed, index), max_size=max(scale), short_side=min(scale))
        height, width = toy.image.shape[:2]
        factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
        image = cv2.resize(toy.image, (int(width * factor + 0.5), int(height * factor + 0.5)),
                           interpolation=cv2.INTER_LINEAR)
        objects = [o for o in toy.objects if not o.difficult]
        boxes = np.array([o.bbox for o in objects], dtype=np.float32).reshape(-1, 4) * factor
        labels = np.array([TOY_CLASSES.index(o.name) for o in objects], dtype=np.int64)
        out.append((image, boxes, labels))
    return out


def _perturbed_box(rng: np.random.Generator, box: np.ndarray, shift: float,
                   log_scale: Tuple[float, float], height: int, width: int) -> np.ndarray:
    """``box`` with its centre moved by up to ``shift`` of its width / height and each side scaled
    by ``exp(uniform(*log_scale))``, clipped to the image."""
    w, h = box[2] - box[0] + 1, box[3] - box[1] + 1
    cx = (box[0] + box[2]) / 2 + rng.uniform(-shift, shift) * w
    cy = (box[1] + box[3]) / 2 + rng.uniform(-shift, shift) * h
    nw, nh = w * np.exp(rng.uniform(*log_scale)), h * np.exp(rng.uniform(*log_scale))
    return np.array([max(cx - nw / 2, 0), max(cy - nh / 2, 0), min(cx + nw / 2, width - 1),
                     min(cy + nh / 2, height - 1)], dtype=np.float32)


def _sample_rois(rng: np.random.Generator, boxes: np.ndarray, labels: np.ndarray, height: int,
                 width: int, jitters: int, num_background: int,
                 parts: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Every object's box and ``jitters`` shifted / rescaled copies of it (IoU >= 0.7, the object's
    label); per object up to ``parts`` boxes on a part of it or offset from it (IoU 0.1-0.5 with it,
    < 0.5 with every object: background); plus up to ``num_background`` random boxes of object-like
    sizes overlapping every object by IoU < 0.3 (background)."""
    rois, roi_labels = [], []
    for box in boxes:
        found = 0
        for _try in range(parts * 10):
            if found == parts:
                break
            cand = _perturbed_box(rng, box, 0.6, (-1.0, 0.5), height, width)
            if cand[2] - cand[0] < 8 or cand[3] - cand[1] < 8:
                continue
            if 0.1 <= _iou(cand, box[None])[0] < 0.5 and _iou(cand, boxes).max() < 0.5:
                rois.append(cand)
                roi_labels.append(len(TOY_CLASSES))
                found += 1
    for box, label in zip(boxes, labels):
        rois.append(box)
        roi_labels.append(label)
        for _ in range(jitters):
            for _try in range(10):
                cand = _perturbed_box(rng, box, 0.15, (-0.2, 0.2), height, width)
                if _iou(cand, box[None])[0] >= 0.7:
                    rois.append(cand)
                    roi_labels.append(label)
                    break
    short = min(height, width)
    found = 0
    for _try in range(num_background * 5):
        if found == num_background:
            break
        w, h = short * rng.uniform(0.15, 0.6), short * rng.uniform(0.15, 0.6)
        x0, y0 = rng.uniform(0, max(width - w, 1)), rng.uniform(0, max(height - h, 1))
        cand = np.array([x0, y0, min(x0 + w, width - 1), min(y0 + h, height - 1)], dtype=np.float32)
        if len(boxes) == 0 or _iou(cand, boxes).max() < 0.3:
            rois.append(cand)
            roi_labels.append(len(TOY_CLASSES))
            found += 1
    return np.stack(rois), np.asarray(roi_labels, dtype=np.int64)


def pretrain_on_toy_images(backbone: nn.Module, in_channels: int, roi_size: int, fc_channels: int,
                           pixel_mean: Sequence[float], out_file: str, scale: Tuple[int, int],
                           caffe_dropout: bool = False, iters: int = STAND_IN_ITERS, images_per_iter: int = 2,
                           lr: float = 3e-4, num_images: int = 300, jitters: int = 4,
                           num_background: int = 16, parts: int = 2, seed: int = 7) -> dict:
    """Trains ``backbone`` + fc6/fc7 as a classifier of object and background regions of toy images
    shown at the detector's scale, through RoI pooling (:class:`RoIClassifier`), and saves them in
    the ImageNet-weights layout (atomically). Returns a summary (held-out accuracy, time)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    start = time.time()
    scenes = toy_scene_images(seed, num_images, scale)
    held_out = max(1, len(scenes) // 10)
    train_scenes, test_scenes = scenes[held_out:], scenes[:held_out]
    mean = torch.tensor(pixel_mean, dtype=torch.float32).view(3, 1, 1)

    def batch(items, train):
        tensors, all_rois, all_labels = [], [], []
        for i, (image, boxes, labels) in enumerate(items):
            height, width = image.shape[:2]
            img = torch.from_numpy(image).permute(2, 0, 1).float() - mean
            boxes = boxes.copy()
            if train and rng.random() < 0.5:
                img = img.flip(-1)
                boxes[:, [0, 2]] = width - 1 - boxes[:, [2, 0]]
            rois, roi_labels = _sample_rois(rng, boxes, labels, height, width,
                                            jitters if train else 0, num_background, parts)
            tensors.append(img)
            all_rois.append(np.hstack([np.full((len(rois), 1), i, np.float32), rois]))
            all_labels.append(roi_labels)
        h = max(t.shape[1] for t in tensors)
        w = max(t.shape[2] for t in tensors)
        images = torch.zeros(len(tensors), 3, h, w)  # padded with 0 after the mean, as the detector
        for i, t in enumerate(tensors):
            images[i, :, :t.shape[1], :t.shape[2]] = t
        return (images, torch.from_numpy(np.concatenate(all_rois)),
                torch.from_numpy(np.concatenate(all_labels)))

    # Kaiming initialisation assumes unit-variance inputs, but the detector's pixels are 0-255
    # minus the mean: scale the first conv down by the pixels' spread, or the activations (and
    # the loss) blow up.
    first_conv = next(m for m in backbone.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        spread = torch.cat([torch.from_numpy(s[0]).float().flatten() for s in train_scenes[:20]]).std()
        first_conv.weight /= spread.clamp(min=1.0)
    model = RoIClassifier(backbone, in_channels, roi_size, fc_channels, len(TOY_CLASSES) + 1,
                          caffe_dropout=caffe_dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4, fused=True)  # one kernel per step
    # Linear warm-up over the first tenth (Adam's first steps on fresh fc layers otherwise spike
    # the loss), then cosine decay.
    warmup = max(1, iters // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: min(
        (i + 1) / warmup, 0.5 * (1 + math.cos(math.pi * min(i, iters) / iters))))
    model.train()
    for it in range(1, iters + 1):
        picks = rng.choice(len(train_scenes), images_per_iter, replace=False)
        images, rois, labels = batch([train_scenes[i] for i in picks], train=True)
        loss = F.cross_entropy(model(images, rois), labels)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        schedule.step()
        if it % 25 == 0 or it == iters:
            print_log(f'stand-in pre-training: iter {it}/{iters}, loss {loss.item():.3f} '
                      f'({time.time() - start:.0f} s)', logger='current')
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for scene in test_scenes:
            images, rois, labels = batch([scene], train=False)
            correct += (model(images, rois).argmax(1) == labels).sum().item()
            total += len(labels)
    accuracy = correct / max(total, 1)
    summary = dict(source='toy image regions (stand-in for ImageNet)', format='toy-pretraining',
                   input_adapted=False, images=len(scenes), iters=iters,
                   held_out_accuracy=round(accuracy, 4), seconds=round(time.time() - start, 1))
    _save_in_imagenet_layout(model, summary, out_file)
    return summary


__all__ = ['STAND_IN_ITERS', 'RoIClassifier', 'toy_scene_images', 'pretrain_on_toy_images']
