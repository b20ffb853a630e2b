"""A stand-in for ImageNet pre-training, so the offline demo keeps the paper's pipeline shape.

The paper initialises the shared convs and fc6/fc7 from an ImageNet classifier (§3.1.3, §4). No
ImageNet weights can be had offline, so the demo first trains the same layers on a small generated
classification task — crops of toy-VOC shapes (and of background) labelled by class, drawn with a
different seed than the demo dataset — and saves them in exactly the layout
``tools/convert_imagenet_weights.py`` writes for real ImageNet weights (``backbone.*`` and
``roi_head.bbox_head.fc6/fc7.*``). The detector then loads them through the same
``init_cfg=dict(type='Pretrained', checkpoint=...)`` path.

The classifier is the detector's own trunk: backbone convs, the crop max-pooled to the RoI size
(what RoI pooling does to a whole-crop RoI), fc6 → fc7 (with the head's dropout) → a linear layer
over the toy classes plus background. Inputs are preprocessed as the detector's (BGR minus the
config's pixel means).
"""
import logging
import os
import os.path as osp
import time
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.logging import print_log
from torch import nn
from torch.nn import functional as F

from ..datasets.toy_voc import TOY_CLASSES, render_toy_image, toy_rng


class CropClassifier(nn.Module):
    """Backbone → max-pool to ``roi_size`` → fc6 → fc7 → logits (classes + background)."""

    def __init__(self, backbone: nn.Module, in_channels: int, roi_size: int, fc_channels: int,
                 num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone = backbone
        self.roi_size = roi_size
        self.fc6 = nn.Linear(in_channels * roi_size * roi_size, fc_channels)
        self.fc7 = nn.Linear(fc_channels, fc_channels)
        self.fc8 = nn.Linear(fc_channels, num_classes)
        self.dropout = nn.Dropout(dropout)
        for fc in (self.fc6, self.fc7):
            nn.init.xavier_uniform_(fc.weight)
            nn.init.zeros_(fc.bias)
        nn.init.normal_(self.fc8.weight, std=0.01)
        nn.init.zeros_(self.fc8.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_max_pool2d(self.backbone(x)[0], self.roi_size).flatten(1)
        x = self.dropout(F.relu(self.fc6(x)))
        x = self.dropout(F.relu(self.fc7(x)))
        return self.fc8(x)


def toy_crops(seed: int, num_images: int, crop_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Crops (N, S, S, 3) uint8 BGR and labels (N,): a square around every non-difficult object of
    ``num_images`` toy images (side 1.2–1.8 × its longer side, the image mirrored beyond its
    border), plus one background crop per image (label
    ``len(TOY_CLASSES)``) that overlaps no object by more than a quarter of its area."""
    crops, labels = [], []
    for index in range(1, num_images + 1):
        rng = toy_rng(seed, index)
        toy = render_toy_image(rng)
        height, width = toy.image.shape[:2]
        # Square crops, so that resizing keeps each shape's aspect ratio (bars stay bars).
        padded = cv2.copyMakeBorder(toy.image, height, height, width, width, cv2.BORDER_REFLECT)
        for obj in toy.objects:
            if obj.difficult:
                continue
            x1, y1, x2, y2 = obj.bbox
            side = max(x2 - x1 + 1, y2 - y1 + 1) * rng.uniform(1.2, 1.8)
            cx, cy = (x1 + x2 + 1) / 2 + width, (y1 + y2 + 1) / 2 + height  # in `padded`
            box = [int(round(v)) for v in (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)]
            crops.append(cv2.resize(padded[box[1]:box[3], box[0]:box[2]], (crop_size, crop_size)))
            labels.append(TOY_CLASSES.index(obj.name))
        for _ in range(10):  # a background crop, if one is found
            side = int(rng.integers(min(height, width) // 4, min(height, width) // 2))
            x0, y0 = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
            if (toy.instance_map[y0:y0 + side, x0:x0 + side] >= 0).mean() < 0.25:
                crops.append(cv2.resize(toy.image[y0:y0 + side, x0:x0 + side], (crop_size, crop_size)))
                labels.append(len(TOY_CLASSES))
                break
    return np.stack(crops), np.asarray(labels, dtype=np.int64)


def pretrain_on_toy_crops(backbone: nn.Module, in_channels: int, roi_size: int, fc_channels: int,
                          pixel_mean: Sequence[float], out_file: str, iters: int = 300,
                          batch_size: int = 32, crop_size: int = 64, lr: float = 3e-4,
                          num_images: int = 600, seed: int = 7) -> dict:
    """Trains ``backbone`` + fc6/fc7 as a crop classifier and saves them in the ImageNet-weights
    layout (atomically). Returns a summary (accuracy on held-out crops, time)."""
    torch.manual_seed(seed)
    start = time.time()
    images, labels = toy_crops(seed, num_images, crop_size)
    held_out = max(1, len(labels) // 10)
    mean = torch.tensor(pixel_mean, dtype=torch.float32).view(1, 3, 1, 1)
    inputs = torch.from_numpy(images).permute(0, 3, 1, 2).float() - mean
    targets = torch.from_numpy(labels)
    train_x, train_y = inputs[held_out:], targets[held_out:]
    # Kaiming initialisation assumes unit-variance inputs, but the detector's pixels are 0-255
    # minus the mean: scale the first conv down by the pixels' spread, or the activations (and
    # the loss) blow up.
    first_conv = next(m for m in backbone.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        first_conv.weight /= train_x.std().clamp(min=1.0)
    model = CropClassifier(backbone, in_channels, roi_size, fc_channels, len(TOY_CLASSES) + 1)
    # Adam: the stand-in only has to give the detector useful features quickly (ImageNet models
    # were trained with SGD over days); the detector itself trains with the paper's SGD.
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4, fused=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iters)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for it in range(1, iters + 1):
        idx = torch.randint(0, len(train_y), (batch_size, ), generator=generator)
        x = train_x[idx]
        flip = torch.rand(batch_size, generator=generator) < 0.5
        x[flip] = x[flip].flip(-1)
        loss = F.cross_entropy(model(x), train_y[idx])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        schedule.step()
        if it % 50 == 0 or it == iters:
            print_log(f'stand-in pre-training: iter {it}/{iters}, loss {loss.item():.3f}',
                      logger='current')
    model.eval()
    with torch.no_grad():
        accuracy = (model(inputs[:held_out]).argmax(1) == targets[:held_out]).float().mean().item()
    state = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
    for name in ('fc6', 'fc7'):
        for param, value in getattr(model, name).state_dict().items():
            state[f'roi_head.bbox_head.{name}.{param}'] = value
    summary = dict(source='toy crops (stand-in for ImageNet)', format='toy-pretraining',
                   input_adapted=False, crops=len(labels), iters=iters,
                   held_out_accuracy=round(accuracy, 4), seconds=round(time.time() - start, 1))
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    tmp = out_file + '.tmp'
    torch.save({'state_dict': {k: v.contiguous() for k, v in state.items()}, 'meta': summary}, tmp)
    os.replace(tmp, out_file)
    print_log(f'stand-in pre-training: held-out crop accuracy {accuracy:.3f} -> {out_file}',
              logger='current', level=logging.INFO)
    return summary


__all__: List[str] = ['CropClassifier', 'toy_crops', 'pretrain_on_toy_crops']
