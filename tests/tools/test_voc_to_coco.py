"""tools/dataset_converters/voc_to_coco.py: the COCO json of a VOC-layout tree reads back, through
mmdet's CocoDataset, as the same images, boxes, labels and ignore flags as the VOC reading."""
import json

import numpy as np
import pytest
from mmdet.datasets import CocoDataset
from mmengine.registry import init_default_scope

from faster_rcnn_paper.datasets import PaperVOCDataset
from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES
from faster_rcnn_paper.utils import UserInputError
from tests.tiny import make_tiny_voc
from tests.tools import load_tool

tool = load_tool('dataset_converters/voc_to_coco')


def test_coco_json_reads_back_as_the_voc_annotations(tmp_path):
    devkit = make_tiny_voc(tmp_path, num_trainval=12, num_test=3, seed=4)
    written = tool.convert(devkit, str(tmp_path / 'annotations'), TOY_CLASSES)
    names = [p.rsplit('/', 1)[1] for p in written]
    assert names == ['voc07_train.json', 'voc07_val.json', 'voc07_trainval.json', 'voc07_test.json']
    trainval = written[2]
    categories = json.loads(open(trainval).read())['categories']
    assert categories == [dict(id=i + 1, name=name) for i, name in enumerate(TOY_CLASSES)]
    init_default_scope('mmdet')
    voc = PaperVOCDataset(data_root=devkit, ann_file='VOC2007/ImageSets/Main/trainval.txt',
                          data_prefix=dict(sub_data_root='VOC2007/'), metainfo=dict(classes=TOY_CLASSES),
                          test_mode=True, pipeline=[]).load_data_list()
    coco = CocoDataset(data_root=devkit, ann_file=trainval, data_prefix=dict(img=''),
                       metainfo=dict(classes=TOY_CLASSES), test_mode=True, pipeline=[]).load_data_list()
    assert [c['img_path'] for c in coco] == [v['img_path'] for v in voc]
    num_ignored = 0
    for c, v in zip(coco, voc):
        assert (c['width'], c['height']) == (v['width'], v['height'])
        key = lambda inst: (tuple(inst['bbox']), inst['bbox_label'], inst['ignore_flag'])  # noqa: E731
        assert sorted(map(key, c['instances'])) == sorted(map(key, v['instances']))
        num_ignored += sum(inst['ignore_flag'] for inst in v['instances'])
    assert num_ignored > 0  # difficult objects -> iscrowd -> ignored, as in the VOC reading
    assert np.mean([len(v['instances']) for v in voc]) > 1


def test_no_voc_split_is_an_error(tmp_path):
    with pytest.raises(UserInputError, match='no VOC<year>/ImageSets/Main/<split>.txt'):
        tool.convert(str(tmp_path), str(tmp_path / 'out'), TOY_CLASSES)
