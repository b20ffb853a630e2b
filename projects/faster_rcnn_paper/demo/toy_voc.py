"""A deterministic toy detection dataset in PASCAL VOC format, for tests and a CPU demo.

Each image shows 1–4 filled shapes of five classes, told apart by geometry only (the colour of every
object is random, so it says nothing about the class):

- ``circle``, ``square``, ``triangle`` (isosceles, apex up or down): long side 20–45 % of the shorter
  image side;
- ``bar`` (wide, aspect ≈ 3:1) and ``pillar`` (tall, ≈ 1:3): long side 35–60 % of the image width
  (height).

They lie on seeded textured backgrounds (smooth blotches, linear gradients or stripes, plus grain);
each object's colour is chosen to stand out from the background and from the objects it overlaps,
and carries a mild brightness gradient and a 2-px outline (dark on light objects, light on dark ones). Objects never cross the image border (``truncated`` is 0).
Later objects are drawn on top of earlier ones; a placement is rejected if it would leave an earlier
object less than half visible, so occluded objects stay recognisable.

Difficult objects (VOC's ``difficult``: ignored in training and evaluation) are those a detector
cannot be asked to find reliably:

- small ones: about 5 % of the objects are drawn with a long side of only 7–12 % of the shorter image
  side;
- heavily occluded ones: less than 65 % of the shape's pixels visible.

Boxes are tight around the *visible* pixels of each object (the VOC guideline), written 1-based:
``xmin = x1 + 1`` where ``x1`` is the first 0-based pixel column of the object, and so on.

The layout is the real VOCdevkit one, so mmdet's ``VOCDataset`` and our ``PaperVOCDataset`` read it
with ``data_root='<out>/VOCdevkit/'``, ``ann_file='VOC2007/ImageSets/Main/trainval.txt'`` and
``data_prefix=dict(sub_data_root='VOC2007/')``::

    <out>/VOCdevkit/VOC2007/JPEGImages/000001.jpg ...
    <out>/VOCdevkit/VOC2007/Annotations/000001.xml ...
    <out>/VOCdevkit/VOC2007/ImageSets/Main/{trainval,train,val,test}.txt

Ids ``1 .. num_trainval`` form trainval (split in halves into train and val at random), the next
``num_test`` ids form test. Image ``k`` depends only on ``seed`` and ``k``; output is byte-identical
for the same arguments (JPEGs are written by OpenCV at a fixed quality).
"""
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

TOY_CLASSES = ('circle', 'square', 'triangle', 'bar', 'pillar')

_OBJECTS_PER_IMAGE = (1, 4)
_SIDE_RANGE = (0.20, 0.45)  # circle/square/triangle long side, × the shorter image side
_BAR_LENGTH_RANGE = (0.35, 0.60)  # bar (pillar) long side, × the image width (height)
_BAR_ASPECT_RANGE = (2.6, 3.4)  # long side / short side of bars and pillars
_SMALL_PROB = 0.05  # chance that an object is drawn small (and marked difficult) ...
_SMALL_RANGE = (0.07, 0.12)  # ... with this long side, × the shorter image side
_MIN_VISIBLE = 0.5  # no placement may leave an earlier object less visible than this
_DIFFICULT_VISIBLE = 0.65  # objects less visible than this are difficult
_PLACEMENT_TRIES = 30  # random positions tried per object before it is left out
_COLOUR_CANDIDATES = 16  # random colours scored per object; the most contrasting one is used
_OUTLINE_WIDTH = 2  # pixels of each shape's outline


@dataclass
class ToyObject:
    """One drawn object.

    Attributes:
        name: class name, one of ``TOY_CLASSES``.
        bbox: tight box of its visible pixels, 0-based inclusive ``(x1, y1, x2, y2)``.
        difficult: whether it is marked ``difficult`` (small or heavily occluded).
        visible_fraction: visible pixels / pixels of the whole shape.
    """
    name: str
    bbox: Tuple[int, int, int, int]
    difficult: bool
    visible_fraction: float


@dataclass
class ToyImage:
    """A rendered image: ``image`` (H×W×3 uint8, BGR), its ``objects`` and ``instance_map`` (H×W
    int16: the index in ``objects`` of the object seen at each pixel, -1 for background)."""
    image: np.ndarray
    objects: List[ToyObject]
    instance_map: np.ndarray


@dataclass
class ToyVOCSummary:
    """What :func:`make_toy_voc` wrote: the ``VOC2007`` folder, images per split, objects per class
    and the number of difficult objects."""
    voc_root: str
    splits: Dict[str, int]
    objects_per_class: Dict[str, int]
    num_difficult: int

    def __str__(self) -> str:
        splits = ', '.join(f'{name} {n}' for name, n in self.splits.items())
        objects = ', '.join(f'{name} {n}' for name, n in self.objects_per_class.items())
        return (f'{self.voc_root}\n  images: {splits}\n  objects: {objects} '
                f'({self.num_difficult} difficult)')


# ---------------------------------------------------------------------------------------- drawing
def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A textured H×W×3 float32 background: smooth blotches, a linear gradient or stripes, plus
    grain."""
    base = rng.uniform(40, 215, size=3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    kind = rng.integers(3)
    if kind == 0:  # smooth blotches: a few random cells, upsampled
        cells = rng.normal(0, 1, size=(int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3))
        blotches = cv2.resize(cells.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
        img = base + blotches * rng.uniform(12, 30)
    elif kind == 1:  # linear gradient towards a second colour
        theta = rng.uniform(0, 2 * math.pi)
        t = xx * math.cos(theta) + yy * math.sin(theta)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        img = base + t[..., None] * rng.uniform(-70, 70, size=3)
    else:  # stripes of random orientation, period and colour direction
        theta = rng.uniform(0, math.pi)
        period = rng.uniform(6, 28)
        wave = np.sin(2 * math.pi * (xx * math.cos(theta) + yy * math.sin(theta)) / period)
        img = base + wave[..., None] * (rng.uniform(15, 35) * rng.uniform(0.3, 1.0, size=3))
    img = img + rng.normal(0, rng.uniform(3, 10), size=img.shape)
    return img.astype(np.float32)


def _shape_extent(rng: np.random.Generator, name: str, width: int, height: int,
                  small: bool) -> Tuple[int, int]:
    """Width and height in pixels of the box a new shape is drawn in."""
    if name in ('bar', 'pillar'):
        along = width if name == 'bar' else height
        length = (rng.uniform(*_SMALL_RANGE) * min(width, height) if small
                  else rng.uniform(*_BAR_LENGTH_RANGE) * along)
        thickness = length / rng.uniform(*_BAR_ASPECT_RANGE)
        w, h = (length, thickness) if name == 'bar' else (thickness, length)
    else:
        side = rng.uniform(*(_SMALL_RANGE if small else _SIDE_RANGE)) * min(width, height)
        w, h = side, side
        if name == 'triangle':
            h = side * rng.uniform(0.8, 1.0)
    return max(int(round(w)), 3), max(int(round(h)), 3)


def _shape_mask(rng: np.random.Generator, name: str, w: int, h: int) -> np.ndarray:
    """Boolean h×w mask of the shape filling its box, sampled at pixel centres."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    if name == 'circle':  # an ellipse inscribed in a (near-)square box
        return ((u - w / 2) / (w / 2)) ** 2 + ((v - h / 2) / (h / 2)) ** 2 <= 1.0
    if name == 'triangle':  # isosceles, apex at the top centre; flipped half of the time
        if rng.random() < 0.5:
            v = h - v
        return np.abs(u - w / 2) <= v / h * (w / 2)
    return np.ones((h, w), dtype=bool)  # square, bar, pillar


def _eroded(mask: np.ndarray, width: int) -> np.ndarray:
    """``mask`` eroded by ``width`` pixels (pixels outside the array count as outside)."""
    padded = np.pad(mask.astype(np.uint8), width)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return cv2.erode(padded, kernel)[width:-width, width:-width].astype(bool)


def _pick_colour(rng: np.random.Generator, under: np.ndarray, neighbours: List[np.ndarray]) -> np.ndarray:
    """The most contrasting of a few random colours: farthest from the mean of the pixels it will
    cover (``under``, N×3) and from the colours of the objects it overlaps."""
    candidates = rng.integers(0, 256, size=(_COLOUR_CANDIDATES, 3)).astype(np.float32)
    score = np.linalg.norm(candidates - under.mean(axis=0), axis=1)
    for colour in neighbours:
        score = np.minimum(score, np.linalg.norm(candidates - colour, axis=1))
    return candidates[int(np.argmax(score))]


def toy_rng(seed: int, index: int) -> np.random.Generator:
    """The generator that draws image ``index`` (1-based: the number in its id) for ``seed``; so
    ``render_toy_image(toy_rng(seed, k), min_size, max_size)`` is image ``k`` before JPEG coding."""
    return np.random.default_rng([seed, 1, index])


def render_toy_image(rng: np.random.Generator, min_size: int = 160, max_size: int = 240,
                     short_side: Optional[int] = None) -> ToyImage:
    """Draw one toy image with ``rng``; width and height are each uniform in [min_size, max_size],
    or, with ``short_side``, the shorter side is ``short_side`` and the longer one uniform in
    [short_side, max_size] (either orientation): images made at the scale a detector that resizes
    the shorter side to ``short_side`` shows them."""
    if short_side is None:
        width, height = (int(s) for s in rng.integers(min_size, max_size + 1, size=2))
    else:
        long_side = int(rng.integers(short_side, max_size + 1))
        width, height = (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
    canvas = _background(rng, height, width)
    instance_map = np.full((height, width), -1, dtype=np.int16)
    names: List[str] = []
    colours: List[np.ndarray] = []
    areas: List[int] = []  # pixels of each whole shape
    visible: List[int] = []  # pixels of each shape still visible
    small_flags: List[bool] = []

    for _ in range(int(rng.integers(_OBJECTS_PER_IMAGE[0], _OBJECTS_PER_IMAGE[1] + 1))):
        name = TOY_CLASSES[int(rng.integers(len(TOY_CLASSES)))]
        small = bool(rng.random() < _SMALL_PROB)
        w, h = _shape_extent(rng, name, width, height, small)
        mask = _shape_mask(rng, name, w, h)
        for _try in range(_PLACEMENT_TRIES):
            x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            under_ids = instance_map[y0:y0 + h, x0:x0 + w][mask]
            covered = np.bincount(under_ids[under_ids >= 0], minlength=len(names))
            if all(visible[k] - covered[k] >= _MIN_VISIBLE * areas[k] for k in range(len(names))):
                break
        else:
            continue  # no room for it: leave it out
        colour = _pick_colour(rng, canvas[y0:y0 + h, x0:x0 + w][mask],
                              [colours[k] for k in np.flatnonzero(covered)])
        # A mild brightness gradient across the object, so it is not a flat colour.
        v, u = np.mgrid[0:h, 0:w].astype(np.float32)
        shade = rng.uniform(-25, 25) * (u / w - 0.5) + rng.uniform(-25, 25) * (v / h - 0.5)
        patch = canvas[y0:y0 + h, x0:x0 + w]
        patch[mask] = colour + shade[mask][:, None]
        # An outline of the contrasting extreme (dark on light objects, light on dark ones): the
        # object's own boundary, as real objects have, so a window on part of a shape does not
        # look like a whole one.
        rim = mask & ~_eroded(mask, _OUTLINE_WIDTH)
        patch[rim] = 20.0 if colour.mean() > 127 else 235.0
        instance_map[y0:y0 + h, x0:x0 + w][mask] = len(names)
        for k in np.flatnonzero(covered):
            visible[k] -= int(covered[k])
        names.append(name)
        colours.append(colour)
        areas.append(int(mask.sum()))
        visible.append(areas[-1])
        small_flags.append(small)

    canvas += rng.normal(0, 4, size=canvas.shape)  # sensor-like grain over everything
    image = np.clip(np.round(canvas), 0, 255).astype(np.uint8)

    objects = []
    for k, name in enumerate(names):
        ys, xs = np.nonzero(instance_map == k)
        fraction = visible[k] / areas[k]
        objects.append(ToyObject(
            name=name, bbox=(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())),
            difficult=small_flags[k] or fraction < _DIFFICULT_VISIBLE, visible_fraction=fraction))
    return ToyImage(image=image, objects=objects, instance_map=instance_map)


# ---------------------------------------------------------------------------------------- writing
def _annotation_xml(img_id: str, width: int, height: int, objects: List[ToyObject]) -> str:
    """The PASCAL VOC annotation of one image (boxes 1-based inclusive, as in VOC)."""
    lines = ['<annotation>',
             '\t<folder>VOC2007</folder>',
             f'\t<filename>{img_id}.jpg</filename>',
             '\t<source>',
             '\t\t<database>faster_rcnn_paper toy shapes</database>',
             '\t\t<annotation>PASCAL VOC format</annotation>',
             '\t\t<image>synthetic</image>',
             '\t</source>',
             '\t<size>',
             f'\t\t<width>{width}</width>',
             f'\t\t<height>{height}</height>',
             '\t\t<depth>3</depth>',
             '\t</size>',
             '\t<segmented>0</segmented>']
    for obj in objects:
        x1, y1, x2, y2 = obj.bbox
        lines += ['\t<object>',
                  f'\t\t<name>{obj.name}</name>',
                  '\t\t<pose>Unspecified</pose>',
                  '\t\t<truncated>0</truncated>',
                  f'\t\t<difficult>{int(obj.difficult)}</difficult>',
                  '\t\t<bndbox>',
                  f'\t\t\t<xmin>{x1 + 1}</xmin>',
                  f'\t\t\t<ymin>{y1 + 1}</ymin>',
                  f'\t\t\t<xmax>{x2 + 1}</xmax>',
                  f'\t\t\t<ymax>{y2 + 1}</ymax>',
                  '\t\t</bndbox>',
                  '\t</object>']
    lines.append('</annotation>')
    return '\n'.join(lines) + '\n'


def _write_text(path: str, text: str) -> None:
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(text)


def make_toy_voc(out_dir: str, num_trainval: int = 200, num_test: int = 100, seed: int = 0,
                 min_size: int = 160, max_size: int = 240, jpeg_quality: int = 95,
                 short_side: Optional[int] = None) -> ToyVOCSummary:
    """Write a toy VOC2007-style dataset under ``<out_dir>/VOCdevkit/VOC2007`` (see the module
    docstring). Files of the same names are overwritten; nothing else is removed.

    Args:
        out_dir: output folder (created if needed).
        num_trainval: images in trainval (ids 1 .. num_trainval).
        num_test: images in test (the ids after trainval).
        seed: non-negative seed; the same arguments give byte-identical files.
        min_size, max_size: range of the image width and height, in pixels.
        short_side: if given, every image's shorter side (``min_size`` is then unused) and the
            longer one in [short_side, max_size] (see :func:`render_toy_image`).
        jpeg_quality: OpenCV JPEG quality.

    Returns:
        ToyVOCSummary: what was written.
    """
    if num_trainval < 0 or num_test < 0 or num_trainval + num_test == 0:
        raise ValueError(f'need a non-negative number of trainval and test images, not both 0 '
                         f'(got {num_trainval}, {num_test})')
    if seed < 0:
        raise ValueError(f'seed must be non-negative, got {seed}')
    if not 64 <= min_size <= max_size:
        raise ValueError(f'need 64 <= min_size <= max_size, got {min_size}, {max_size}')
    if short_side is not None and not 64 <= short_side <= max_size:
        raise ValueError(f'need 64 <= short_side <= max_size, got {short_side}, {max_size}')

    voc_root = osp.join(out_dir, 'VOCdevkit', 'VOC2007')
    folders = {sub: osp.join(voc_root, sub) for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main')}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)

    img_ids = [f'{k:06d}' for k in range(1, num_trainval + num_test + 1)]
    objects_per_class = dict.fromkeys(TOY_CLASSES, 0)
    num_difficult = 0
    for k, img_id in enumerate(img_ids, start=1):
        toy = render_toy_image(toy_rng(seed, k), min_size, max_size, short_side)
        img_path = osp.join(folders['JPEGImages'], f'{img_id}.jpg')
        if not cv2.imwrite(img_path, toy.image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]):
            raise OSError(f'could not write {img_path}')
        height, width = toy.image.shape[:2]
        _write_text(osp.join(folders['Annotations'], f'{img_id}.xml'),
                    _annotation_xml(img_id, width, height, toy.objects))
        for obj in toy.objects:
            objects_per_class[obj.name] += 1
            num_difficult += obj.difficult

    trainval, test = img_ids[:num_trainval], img_ids[num_trainval:]
    order = np.random.default_rng([seed, 2]).permutation(num_trainval)
    num_train = (num_trainval + 1) // 2
    splits = dict(trainval=trainval,
                  train=sorted(trainval[i] for i in order[:num_train]),
                  val=sorted(trainval[i] for i in order[num_train:]),
                  test=test)
    for split, ids in splits.items():
        _write_text(osp.join(folders['ImageSets/Main'], f'{split}.txt'), ''.join(f'{i}\n' for i in ids))
    return ToyVOCSummary(voc_root=voc_root, splits={s: len(ids) for s, ids in splits.items()},
                         objects_per_class=objects_per_class, num_difficult=num_difficult)
