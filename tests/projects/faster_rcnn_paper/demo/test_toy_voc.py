"""The toy VOC-format generator: layout, determinism, boxes, classes, and loading through mmdet."""
import os
import os.path as osp
import runpy
import sys
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
import torch
from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES, make_toy_voc, render_toy_image, toy_rng

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))
SPLITS = ('trainval', 'train', 'val', 'test')


@pytest.fixture(scope='module', autouse=True)
def mmdet_scope():
    """Transforms such as PackDetInputs live in mmdet's registries: build in mmdet's scope."""
    register_all_modules(init_default_scope=True)


def read_split(voc_root, split):
    with open(osp.join(voc_root, 'ImageSets', 'Main', f'{split}.txt')) as f:
        return f.read().split()


def read_objects(voc_root, img_id):
    root = ET.parse(osp.join(voc_root, 'Annotations', f'{img_id}.xml')).getroot()
    return root, [(obj.findtext('name'), int(obj.findtext('difficult')),
                   tuple(int(obj.find('bndbox').findtext(k)) for k in ('xmin', 'ymin', 'xmax', 'ymax')))
                  for obj in root.findall('object')]


@pytest.fixture(scope='module')
def toy40(tmp_path_factory):
    out = tmp_path_factory.mktemp('toy40')
    return make_toy_voc(str(out), num_trainval=30, num_test=10, seed=0)


def test_layout(tmp_path):
    summary = make_toy_voc(str(tmp_path), num_trainval=5, num_test=3, seed=1)
    voc_root = osp.join(str(tmp_path), 'VOCdevkit', 'VOC2007')
    assert summary.voc_root == voc_root
    assert summary.splits == dict(trainval=5, train=3, val=2, test=3)
    ids = [f'{k:06d}' for k in range(1, 9)]
    assert sorted(os.listdir(osp.join(voc_root, 'JPEGImages'))) == [f'{i}.jpg' for i in ids]
    assert sorted(os.listdir(osp.join(voc_root, 'Annotations'))) == [f'{i}.xml' for i in ids]
    trainval, train, val, test = (read_split(voc_root, s) for s in SPLITS)
    assert trainval == ids[:5] and test == ids[5:]
    assert sorted(train + val) == trainval and not set(train) & set(val)


def test_deterministic(tmp_path):
    def files(root):
        found = {}
        for folder, _, names in os.walk(root):
            for name in names:
                path = osp.join(folder, name)
                with open(path, 'rb') as f:
                    found[osp.relpath(path, root)] = f.read()
        return found

    for run in ('a', 'b', 'other_seed'):
        make_toy_voc(str(tmp_path / run), num_trainval=4, num_test=2, seed=7 if run != 'other_seed' else 8)
    first, second, other = (files(str(tmp_path / run)) for run in ('a', 'b', 'other_seed'))
    assert len(first) == 6 * 2 + 4
    assert first == second
    assert first.keys() == other.keys() and first != other


def test_xml_is_pascal_voc_and_boxes_lie_inside(toy40):
    for img_id in read_split(toy40.voc_root, 'trainval') + read_split(toy40.voc_root, 'test'):
        root, objects = read_objects(toy40.voc_root, img_id)
        image = cv2.imread(osp.join(toy40.voc_root, 'JPEGImages', f'{img_id}.jpg'))
        assert root.tag == 'annotation'
        assert root.findtext('folder') == 'VOC2007' and root.findtext('filename') == f'{img_id}.jpg'
        size = root.find('size')
        assert (int(size.findtext('height')), int(size.findtext('width')), int(size.findtext('depth'))) \
            == image.shape
        assert 160 <= image.shape[0] <= 240 and 160 <= image.shape[1] <= 240
        assert root.findtext('segmented') == '0'
        assert 1 <= len(objects) <= 4
        for obj in root.findall('object'):
            assert obj.findtext('pose') == 'Unspecified' and obj.findtext('truncated') == '0'
        for name, difficult, (xmin, ymin, xmax, ymax) in objects:
            assert name in TOY_CLASSES and difficult in (0, 1)
            # 1-based inclusive, inside the image.
            assert 1 <= xmin <= xmax <= image.shape[1] and 1 <= ymin <= ymax <= image.shape[0]


def test_boxes_are_tight_around_the_drawn_pixels(toy40):
    for k in (1, 2, 3, 31):
        img_id = f'{k:06d}'
        toy = render_toy_image(toy_rng(0, k))
        # The file is the rendered image, up to JPEG coding (which smooths the pixel grain away).
        jpeg = cv2.imread(osp.join(toy40.voc_root, 'JPEGImages', f'{img_id}.jpg'))
        assert jpeg.shape == toy.image.shape
        assert np.abs(cv2.blur(jpeg, (5, 5)).astype(np.float32) - cv2.blur(toy.image, (5, 5))).mean() < 2
        _, objects = read_objects(toy40.voc_root, img_id)
        assert [(o.name, int(o.difficult)) for o in toy.objects] == [(n, d) for n, d, _ in objects]
        for index, (obj, (_, _, xml_box)) in enumerate(zip(toy.objects, objects)):
            ys, xs = np.nonzero(toy.instance_map == index)
            assert obj.bbox == (xs.min(), ys.min(), xs.max(), ys.max())
            assert xml_box == tuple(v + 1 for v in obj.bbox)
            # The object stands out: its pixels differ clearly from the background inside its box.
            x1, y1, x2, y2 = obj.bbox
            inside = toy.instance_map[y1:y2 + 1, x1:x2 + 1] == index
            crop = toy.image[y1:y2 + 1, x1:x2 + 1].astype(np.float32)
            background = toy.instance_map[y1:y2 + 1, x1:x2 + 1] == -1
            if not obj.difficult and background.sum() > 50:
                contrast = np.linalg.norm(crop[inside].mean(0) - crop[background].mean(0))
                assert contrast > 40


def test_every_class_and_some_difficult_objects_in_40_images(toy40):
    assert sum(toy40.splits[s] for s in ('trainval', 'test')) == 40
    assert all(toy40.objects_per_class[name] > 0 for name in TOY_CLASSES)
    assert 0 < toy40.num_difficult < 0.3 * sum(toy40.objects_per_class.values())
    seen = set()
    for img_id in read_split(toy40.voc_root, 'trainval') + read_split(toy40.voc_root, 'test'):
        seen.update(name for name, _, _ in read_objects(toy40.voc_root, img_id)[1])
    assert seen == set(TOY_CLASSES)


def test_shapes_have_their_geometry():
    aspects = {name: [] for name in TOY_CLASSES}
    for k in range(1, 60):
        for obj in render_toy_image(toy_rng(3, k)).objects:
            if obj.visible_fraction == 1.0 and not obj.difficult:
                x1, y1, x2, y2 = obj.bbox
                aspects[obj.name].append((x2 - x1 + 1) / (y2 - y1 + 1))
    for name in ('circle', 'square'):
        assert 0.9 < min(aspects[name]) and max(aspects[name]) < 1.1
    assert 0.9 < min(aspects['triangle']) and max(aspects['triangle']) < 1.35
    assert min(aspects['bar']) > 2.3 and max(aspects['pillar']) < 1 / 2.3


def test_short_side_makes_images_at_the_detectors_scale():
    orientations = set()
    for k in range(1, 30):
        height, width = render_toy_image(toy_rng(5, k), max_size=150, short_side=100).image.shape[:2]
        assert min(height, width) == 100 and max(height, width) <= 150
        orientations.add(width > height)
    assert orientations == {True, False}


def test_every_object_has_an_outline_of_the_contrasting_extreme():
    """The rim of each fully visible shape is dark (20) on light objects and light (235) on dark
    ones, up to the grain added over the whole image."""
    checked = 0
    for k in range(1, 15):
        toy = render_toy_image(toy_rng(2, k))
        for index, obj in enumerate(toy.objects):
            if obj.visible_fraction < 1.0 or obj.difficult:
                continue
            mask = (toy.instance_map == index).astype(np.uint8)
            rim = mask.astype(bool) & ~cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
            inner = cv2.erode(mask, np.ones((9, 9), np.uint8)).astype(bool)
            rim_value = toy.image[rim].astype(np.float32).mean()
            fill_value = toy.image[inner].astype(np.float32).mean()
            expected = 20.0 if fill_value > 127 else 235.0
            assert abs(rim_value - expected) < 15, (k, obj.name, rim_value, fill_value)
            checked += 1
    assert checked > 10


def dataset_cfg(summary, dataset_type, split='trainval', pipeline=()):
    return dict(type=dataset_type, data_root=osp.dirname(summary.voc_root) + os.sep,
                ann_file=f'VOC2007/ImageSets/Main/{split}.txt', data_prefix=dict(sub_data_root='VOC2007/'),
                metainfo=dict(classes=TOY_CLASSES), pipeline=list(pipeline))


@pytest.mark.parametrize('dataset_type', ['PaperVOCDataset', 'VOCDataset'])
def test_loads_as_voc_with_the_train_pipeline(toy40, dataset_type):
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='Resize', scale=(1000, 600), keep_ratio=True),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackDetInputs')]
    dataset = DATASETS.build(dataset_cfg(toy40, dataset_type, pipeline=pipeline))
    assert isinstance(dataset, VOCDataset) and len(dataset) == 30
    # mmdet tags data under VOC2007/ as 'VOC2007' (and VOCMetric then prints VOC's 20 class names);
    # PaperVOCDataset drops the tag when the classes are a dataset's own.
    assert dataset.metainfo['dataset_type'] == ('VOC2007' if dataset_type == 'VOCDataset' else None)
    for idx in range(3):
        info = dataset.get_data_info(idx)
        sample = dataset[idx]
        inputs, data_sample = sample['inputs'], sample['data_samples']
        assert isinstance(inputs, torch.Tensor) and inputs.shape[0] == 3
        assert min(inputs.shape[1:]) == 600 or max(inputs.shape[1:]) == 1000
        assert isinstance(data_sample, DetDataSample)
        num_kept = sum(not inst['ignore_flag'] for inst in info['instances'])
        assert len(data_sample.gt_instances) == num_kept
        assert len(data_sample.ignored_instances) == len(info['instances']) - num_kept


def test_same_annotations_for_paper_and_mmdet_datasets(toy40):
    ours = DATASETS.build(dataset_cfg(toy40, 'PaperVOCDataset', split='test'))
    theirs = DATASETS.build(dataset_cfg(toy40, 'VOCDataset', split='test'))
    assert len(ours) == len(theirs) == 10
    for idx in range(len(ours)):
        assert ours.get_data_info(idx) == theirs.get_data_info(idx)


def test_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['make_toy_voc.py', '--out', str(tmp_path), '--num-trainval', '2',
                                      '--num-test', '1', '--seed', '0', '--min-size', '100',
                                      '--max-size', '120'])
    with pytest.raises(SystemExit) as exit_:  # run_tool's exit status
        runpy.run_path(osp.join(REPO, 'tools', 'demo', 'make_toy_voc.py'), run_name='__main__')
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert 'trainval 2' in printed and 'test 1' in printed
    image = cv2.imread(osp.join(str(tmp_path), 'VOCdevkit', 'VOC2007', 'JPEGImages', '000003.jpg'))
    assert 100 <= min(image.shape[:2]) and max(image.shape[:2]) <= 120


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        make_toy_voc(str(tmp_path), num_trainval=0, num_test=0)
    with pytest.raises(ValueError):
        make_toy_voc(str(tmp_path), min_size=200, max_size=100)
    with pytest.raises(ValueError, match='short_side'):
        make_toy_voc(str(tmp_path), short_side=300, max_size=240)
