"""PaperVOCDataset: py-faster-rcnn's reading of VOC XML, and each kind of bad input found at load time."""
import logging
import os
import os.path as osp
import re
from contextlib import contextmanager

import cv2
import numpy as np
import pytest
from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS
from mmengine.fileio import BaseStorageBackend, LocalBackend, register_backend
from mmengine.logging import MMLogger

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.datasets import PaperVOCDataset
from faster_rcnn_paper.utils import UserInputError

CLASSES = ('cat', 'dog')
ANN_FILE = 'VOC2007/ImageSets/Main/trainval.txt'
WIDTH, HEIGHT = 64, 48


# ------------------------------------------------------------------------------------ helpers
def obj_xml(name='cat', box=(11, 11, 30, 30), difficult=0, drop=()):
    """An <object>; ``box`` values are written as given (1-based VOC), elements in ``drop`` omitted."""
    parts = ['<object>']
    if 'name' not in drop:
        parts.append(f'<name>{name}</name>')
    parts.append('<pose>Unspecified</pose><truncated>0</truncated>')
    if 'difficult' not in drop:
        parts.append(f'<difficult>{difficult}</difficult>')
    if 'bndbox' not in drop:
        coords = ''.join(f'<{k}>{v}</{k}>' for k, v in zip(('xmin', 'ymin', 'xmax', 'ymax'), box)
                         if k not in drop)
        parts.append(f'<bndbox>{coords}</bndbox>')
    parts.append('</object>')
    return ''.join(parts)


def ann_xml(*objects, size=(WIDTH, HEIGHT)):
    size_xml = '' if size is None else (f'<size><width>{size[0]}</width><height>{size[1]}</height>'
                                        f'<depth>3</depth></size>')
    return (f'<annotation><folder>VOC2007</folder><filename>x.jpg</filename>{size_xml}'
            f'<segmented>0</segmented>{"".join(objects)}</annotation>')


def make_voc(root, annotations, image_size=(WIDTH, HEIGHT), ids_text=None):
    """Write ``root/VOCdevkit/VOC2007`` with one image and XML per ``{img_id: xml_text}`` item and a
    trainval list of the ids; returns the data_root. An image has the size its XML's ``<size>``
    says, ``image_size`` when that is absent or unusable."""
    voc = osp.join(str(root), 'VOCdevkit', 'VOC2007')
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        os.makedirs(osp.join(voc, sub), exist_ok=True)
    for img_id, xml in annotations.items():
        size = re.search(r'<width>(\d+)</width><height>(\d+)</height>', xml)
        width, height = (int(size[1]), int(size[2])) if size and int(size[1]) and int(size[2]) else image_size
        cv2.imwrite(osp.join(voc, 'JPEGImages', f'{img_id}.jpg'), np.full((height, width, 3), 128, np.uint8))
        with open(osp.join(voc, 'Annotations', f'{img_id}.xml'), 'w') as f:
            f.write(xml)
    with open(osp.join(voc, 'ImageSets', 'Main', 'trainval.txt'), 'w') as f:
        f.write(ids_text if ids_text is not None else ''.join(f'{i}\n' for i in annotations))
    return osp.join(str(root), 'VOCdevkit') + os.sep


def voc_path(data_root, *parts):
    return osp.join(data_root, 'VOC2007', *parts)


def build(data_root, classes=CLASSES, **kwargs):
    kwargs.setdefault('ann_file', ANN_FILE)
    if classes is not None:
        kwargs['metainfo'] = dict(classes=classes)
    return DATASETS.build(dict(type='PaperVOCDataset', data_root=data_root,
                               data_prefix=dict(sub_data_root='VOC2007/'), pipeline=[], **kwargs))


def instances(dataset, idx=0):
    return dataset.get_data_info(idx)['instances']


@pytest.fixture
def log_records():
    """Records logged through the current MMLogger while the test runs (it does not propagate to
    the root logger, so caplog would not see them)."""
    records = []

    class ListHandler(logging.Handler):

        def emit(self, record):
            records.append(record)

    logger = MMLogger.get_current_instance()
    handler = ListHandler(level=logging.DEBUG)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def warnings_of(records):
    return [r.getMessage() for r in records if r.levelno == logging.WARNING]


# ------------------------------------------------------------------------------------ good input
def test_registered_and_subclass_of_voc_dataset():
    assert DATASETS.get('PaperVOCDataset') is PaperVOCDataset
    assert issubclass(PaperVOCDataset, VOCDataset)


def test_real_voc_style_data_with_default_voc_classes(tmp_path, log_records):
    data_root = make_voc(tmp_path, {
        '000005': ann_xml(obj_xml('chair', (263, 211, 324, 339)), obj_xml('person', (1, 1, 64, 48), 1),
                          size=(500, 375)),
        '000007': ann_xml(obj_xml('car', (141, 50, 500, 330)), size=(500, 333)),
    }, ids_text='000005\r\n  000007  \n\n')  # CRLF, spaces and a blank line are tolerated
    dataset = build(data_root, classes=None)
    assert dataset.metainfo['classes'] == VOCDataset.METAINFO['classes']
    assert dataset.metainfo['dataset_type'] == 'VOC2007'
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info['img_id'] == '000005'
    assert info['img_path'] == voc_path(data_root, 'JPEGImages', '000005.jpg')
    assert (info['width'], info['height']) == (500, 375)
    classes = dataset.metainfo['classes']
    # 0-based inclusive: the XML's values minus one, as py-faster-rcnn and mmdet.
    assert info['instances'] == [
        dict(bbox=[262, 210, 323, 338], bbox_label=classes.index('chair'), ignore_flag=0),
        dict(bbox=[0, 0, 63, 47], bbox_label=classes.index('person'), ignore_flag=1)]
    assert dataset.get_data_info(1)['instances'][0]['bbox'] == [140, 49, 499, 329]
    assert not warnings_of(log_records)
    assert any('with 3 objects (1 difficult)' in r.getMessage() for r in log_records)


def test_same_instances_as_mmdet_voc_dataset_on_clean_data(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml('cat'), obj_xml('dog', (2, 3, 40, 44), 1)),
                                    'b': ann_xml(obj_xml('dog', (5, 6, 7, 8)))})
    ours = build(data_root)
    theirs = VOCDataset(data_root=data_root, ann_file=ANN_FILE, data_prefix=dict(sub_data_root='VOC2007/'),
                        metainfo=dict(classes=CLASSES), pipeline=[])
    for i in range(2):
        assert ours.get_data_info(i) == theirs.get_data_info(i)


def test_names_are_lower_cased_and_stripped(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml('  Dog \n'), obj_xml('CAT'))})
    assert [inst['bbox_label'] for inst in instances(build(data_root))] == [1, 0]
    # Dataset classes are compared the same way.
    assert [inst['bbox_label'] for inst in instances(build(data_root, classes=('Cat', 'Dog')))] == [1, 0]
    with pytest.raises(ValueError, match='same name'):
        build(data_root, classes=('cat', 'Cat '))


def test_difficult_objects_get_ignore_flag(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(difficult=1), obj_xml(difficult=0),
                                                 obj_xml(drop=('difficult',)))})
    assert [inst['ignore_flag'] for inst in instances(build(data_root))] == [1, 0, 0]


def test_no_min_box_size_by_default_but_mmdet_option_kept(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(box=(1, 1, 5, 5)), obj_xml(box=(1, 1, 40, 40)))})
    assert [inst['ignore_flag'] for inst in instances(build(data_root))] == [0, 0]
    dataset = build(data_root, filter_cfg=dict(bbox_min_size=32))
    assert [inst['ignore_flag'] for inst in instances(dataset)] == [1, 0]


def test_missing_size_is_read_from_the_image(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(), size=None)}, image_size=(70, 50))
    info = build(data_root).get_data_info(0)
    assert (info['width'], info['height']) == (70, 50)


def test_unusable_size_is_read_from_the_image_with_a_warning(tmp_path, log_records):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(), size=(0, 'x'))}, image_size=(70, 50))
    info = build(data_root).get_data_info(0)
    assert (info['width'], info['height']) == (70, 50)
    assert any('a.xml' in w and '<size>' in w for w in warnings_of(log_records))


# ------------------------------------------------------------------------------------ errors
def test_missing_ann_file(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml())})
    with pytest.raises(FileNotFoundError, match='ImageSets/Main/nope.txt'):
        build(data_root, ann_file='VOC2007/ImageSets/Main/nope.txt')


def test_missing_xml(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml()), 'b': ann_xml(obj_xml())})
    os.remove(voc_path(data_root, 'Annotations', 'b.xml'))
    with pytest.raises(FileNotFoundError) as error:
        build(data_root)
    assert voc_path(data_root, 'Annotations', 'b.xml') in str(error.value)
    assert "'b'" in str(error.value)


def test_malformed_xml(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml()), 'b': '<annotation><object><name>cat</name>'})
    with pytest.raises(ValueError, match=r'b\.xml: malformed XML'):
        build(data_root)


@pytest.mark.parametrize('dropped, message', [('name', 'has no <name>'), ('bndbox', 'has no <bndbox>'),
                                              ('ymax', '<bndbox> has no <ymax>')])
def test_object_missing_a_required_element(tmp_path, dropped, message):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(), obj_xml(drop=(dropped,)))})
    with pytest.raises(ValueError, match=r'a\.xml: object #2.*' + message):
        build(data_root)


@pytest.mark.parametrize('value', ['abc', '', 'nan'])
def test_coordinate_not_a_number(tmp_path, value):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(box=(1, 2, value, 9)))})
    with pytest.raises(ValueError, match=r'a\.xml: object #1.*xmax'):
        build(data_root)


def test_difficult_not_a_number(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(difficult='yes'))})
    with pytest.raises(ValueError, match=r'a\.xml: object #1.*<difficult>'):
        build(data_root)


def test_missing_images_are_reported_together(tmp_path):
    data_root = make_voc(tmp_path, {i: ann_xml(obj_xml()) for i in ('a', 'b', 'c')})
    for img_id in ('a', 'c'):
        os.remove(voc_path(data_root, 'JPEGImages', f'{img_id}.jpg'))
    with pytest.raises(FileNotFoundError) as error:
        build(data_root)
    message = str(error.value)
    assert 'image files not found for 2 of the 3 ids' in message
    assert voc_path(data_root, 'JPEGImages', 'a.jpg') in message
    assert voc_path(data_root, 'JPEGImages', 'c.jpg') in message


def test_empty_ann_file_is_named(tmp_path):
    """Blank lines only: a clear error naming the list (numpy's "need at least one array to
    concatenate" before)."""
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml())}, ids_text='\n  \n')
    with pytest.raises(UserInputError, match=r'is empty: .*ImageSets/Main/trainval\.txt'):
        build(data_root)


def test_dataset_errors_are_user_input_errors_that_tools_print_as_one_line(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml()), 'b': '<annotation><object>'})
    with pytest.raises(UserInputError):
        build(data_root)
    with pytest.raises(UserInputError, match='Train on real PASCAL VOC') as error:
        build(data_root, ann_file='VOC2007/ImageSets/Main/nope.txt')
    assert isinstance(error.value, FileNotFoundError)  # still one, for code that catches that


def test_check_each_image_reports_every_bad_file(tmp_path):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml()), 'b': '<annotation><object>',
                                    'c': ann_xml(obj_xml(drop=('name',))), 'd': ann_xml(obj_xml())})
    os.remove(voc_path(data_root, 'JPEGImages', 'd.jpg'))
    dataset = build(data_root, lazy_init=True)
    results = dict(dataset.check_each_image())
    assert list(results) == ['a', 'b', 'c', 'd']
    assert isinstance(results['a'], dict) and len(results['a']['instances']) == 1
    assert 'b.xml: malformed XML' in str(results['b'])
    assert 'c.xml: object #1 has no <name>' in str(results['c'])
    assert 'd.jpg' in str(results['d']) and isinstance(results['d'], FileNotFoundError)


class DelegatingRemoteBackend(BaseStorageBackend):
    """Stands for a non-local storage backend (it happens to read local files)."""

    def __init__(self, **kwargs):
        self._local = LocalBackend()

    def get(self, filepath):
        return self._local.get(filepath)

    def get_text(self, filepath, encoding='utf-8'):
        return self._local.get_text(filepath, encoding)

    @contextmanager
    def get_local_path(self, filepath):
        with self._local.get_local_path(filepath) as path:
            yield path


def test_image_existence_is_not_probed_on_non_local_backends(tmp_path):
    register_backend('paper_voc_test_remote', DelegatingRemoteBackend, force=True)
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml())})
    os.remove(voc_path(data_root, 'JPEGImages', 'a.jpg'))
    dataset = build(data_root, backend_args=dict(backend='paper_voc_test_remote'))
    assert len(instances(dataset)) == 1
    with pytest.raises(FileNotFoundError):  # the local default does check
        build(data_root)


# ------------------------------------------------------------------------------------ skipped / clipped
def test_unknown_class_skipped_with_one_warning_per_name(tmp_path, log_records):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml('zebra'), obj_xml('cat')),
                                    'b': ann_xml(obj_xml('Zebra'), obj_xml('horse'))})
    dataset = build(data_root)
    assert [inst['bbox_label'] for inst in instances(dataset, 0)] == [0]
    assert instances(dataset, 1) == []
    warnings = warnings_of(log_records)
    zebra = [w for w in warnings if "'zebra'" in w and 'first seen' in w]
    assert len(zebra) == 1 and 'a.xml' in zebra[0]
    assert any("'horse'" in w and 'b.xml' in w for w in warnings)
    assert any("unknown classes ('horse': 1, 'zebra': 2)" in w for w in warnings)  # the summary


@pytest.mark.parametrize('box', [(30, 11, 10, 20), (11, 30, 20, 10)])
def test_inverted_box_skipped(tmp_path, log_records, box):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(), obj_xml('dog', box))})
    assert [inst['bbox_label'] for inst in instances(build(data_root))] == [0]
    warning = [w for w in warnings_of(log_records) if 'object #2' in w]
    assert len(warning) == 1
    assert 'a.xml' in warning[0] and 'xmin={} ymin={} xmax={} ymax={}'.format(*box) in warning[0]


@pytest.mark.parametrize('box', [(WIDTH + 1, 5, WIDTH + 10, 20), (5, HEIGHT + 1, 20, HEIGHT + 5),
                                 (-20, 5, 0, 20)])
def test_box_entirely_outside_skipped(tmp_path, log_records, box):
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml('dog', box), obj_xml())})
    assert [inst['bbox_label'] for inst in instances(build(data_root))] == [0]
    warning = [w for w in warnings_of(log_records) if 'object #1' in w]
    assert len(warning) == 1 and 'a.xml' in warning[0] and 'outside' in warning[0]


def test_box_partly_outside_clipped(tmp_path, log_records):
    # xmin = 0 is the classic VOC-format error (1-based coordinates start at 1).
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml(box=(0, 5, WIDTH + 7, HEIGHT)))})
    assert instances(build(data_root)) == [dict(bbox=[0, 4, WIDTH - 1, HEIGHT - 1], bbox_label=0,
                                                ignore_flag=0)]
    warning = [w for w in warnings_of(log_records) if 'clipped' in w and 'object #1' in w]
    assert len(warning) == 1
    assert 'a.xml' in warning[0] and f'xmin=0 ymin=5 xmax={WIDTH + 7}' in warning[0]


def test_warnings_per_kind_are_capped_and_counted(tmp_path, log_records, monkeypatch):
    monkeypatch.setattr(PaperVOCDataset, 'max_warnings_per_kind', 2)
    data_root = make_voc(tmp_path, {i: ann_xml(obj_xml(box=(0, 1, 5, 5))) for i in 'abcd'})
    assert len(build(data_root)) == 4
    warnings = warnings_of(log_records)
    assert sum('extends outside' in w for w in warnings) == 2
    assert any('box clipped to the image: 4' in w for w in warnings)  # the summary line


def test_only_difficult_or_no_objects_follow_filter_cfg(tmp_path):
    data_root = make_voc(tmp_path, {
        'good': ann_xml(obj_xml()),
        'difficult_only': ann_xml(obj_xml(difficult=1)),
        'empty': ann_xml(),
        'all_skipped': ann_xml(obj_xml('zebra'), obj_xml(box=(30, 11, 10, 20))),
    })
    kept = build(data_root)  # no filter_cfg: everything is kept, as in mmdet
    assert [kept.get_data_info(i)['img_id'] for i in range(len(kept))] == [
        'good', 'difficult_only', 'empty', 'all_skipped']
    filtered = build(data_root, filter_cfg=dict(filter_empty_gt=True))
    # A difficult-only image has (ignored) instances, so mmdet keeps it as an all-background image.
    assert [filtered.get_data_info(i)['img_id'] for i in range(len(filtered))] == ['good', 'difficult_only']
    assert instances(filtered, 1) == [dict(bbox=[10, 10, 29, 29], bbox_label=0, ignore_flag=1)]
    in_test_mode = build(data_root, filter_cfg=dict(filter_empty_gt=True), test_mode=True)
    assert len(in_test_mode) == 4


def test_own_classes_drop_the_voc2007_tag_that_renames_metric_rows(tmp_path):
    """mmdet's VOCMetric prints VOC's 20 names for data tagged 'VOC2007'; own classes keep theirs."""
    from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES, make_toy_voc
    from mmdet.registry import DATASETS
    make_toy_voc(str(tmp_path), num_trainval=2, num_test=1)
    common = dict(type='PaperVOCDataset', data_root=str(tmp_path / 'VOCdevkit'),
                  ann_file='VOC2007/ImageSets/Main/trainval.txt', data_prefix=dict(sub_data_root='VOC2007/'),
                  pipeline=[])
    own = DATASETS.build(dict(common, metainfo=dict(classes=TOY_CLASSES)))
    assert own.metainfo['dataset_type'] is None
    voc = DATASETS.build(dict(common, test_mode=True))  # training data would have no VOC object
    assert voc.metainfo['dataset_type'] == 'VOC2007'


# ------------------------------------------------------------------------------------ images that do not fit
def write_jpeg(path, size=(WIDTH, HEIGHT), orientation=None):
    """A JPEG of ``size`` (width, height) stored pixels, with an EXIF orientation tag if given."""
    from PIL import Image
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.new('RGB', size, (90, 120, 150)).save(path, exif=exif.tobytes())


def test_images_decoded_at_another_size_or_unreadable_are_refused_together(tmp_path):
    """An EXIF-turned JPEG annotated unturned (decoded 48x64 as by cv2.imread, <size> 64x48), an
    image smaller than its <size>, an empty file and a JPEG cut inside its header: one error before
    training, naming each; the good image alone loads."""
    ids = ('turned', 'small', 'empty', 'cut', 'good')
    data_root = make_voc(tmp_path, {i: ann_xml(obj_xml()) for i in ids})
    jpeg = lambda i: voc_path(data_root, 'JPEGImages', f'{i}.jpg')  # noqa: E731
    write_jpeg(jpeg('turned'), orientation=6)
    write_jpeg(jpeg('small'), size=(WIDTH, HEIGHT // 2))
    open(jpeg('empty'), 'wb').close()
    with open(jpeg('good'), 'rb') as f:
        head = f.read(60)
    with open(jpeg('cut'), 'wb') as f:
        f.write(head)
    with pytest.raises(UserInputError) as error:
        build(data_root)
    message = str(error.value)
    assert '4 of the 5 images of' in message and 'cannot be used as annotated' in message
    assert f'{jpeg("turned")}: image is 48x64 as decoded but the annotation says 64x48' in message
    assert 'EXIF orientation tag turns it' in message
    assert f'{jpeg("small")}: image is 64x24' in message
    assert f'{jpeg("empty")}: cannot be read as an image' in message
    assert f'{jpeg("cut")}: cannot be read as an image' in message
    results = dict(build(data_root, lazy_init=True).check_each_image())  # tools/misc/check_dataset.py
    assert isinstance(results['good'], dict)
    assert all(isinstance(results[i], UserInputError) for i in ids[:4])


def test_exif_orientation_that_keeps_the_size(tmp_path, log_records):
    """Turned by 90 degrees and annotated as shown: loads quietly; mirrored / turned by 180 degrees
    (the size cannot tell): loads with a warning naming the file."""
    data_root = make_voc(tmp_path, {'shown': ann_xml(obj_xml(), size=(HEIGHT, WIDTH)), 'half': ann_xml(obj_xml())})
    write_jpeg(voc_path(data_root, 'JPEGImages', 'shown.jpg'), orientation=6)
    write_jpeg(voc_path(data_root, 'JPEGImages', 'half.jpg'), orientation=3)
    dataset = build(data_root)
    assert len(dataset) == 2
    warnings = [w for w in warnings_of(log_records) if 'EXIF orientation' in w]
    assert len(warnings) == 1 and 'half.jpg' in warnings[0] and 'orientation tag (3)' in warnings[0]


def test_training_data_without_an_object_to_train_on_is_refused(tmp_path):
    """No object of the dataset classes anywhere (numpy's "need at least one array to concatenate"
    inside mmengine before): refused naming ann_file, with or without filter_empty_gt; test data is fine."""
    data_root = make_voc(tmp_path, {'a': ann_xml(obj_xml('zebra')), 'b': ann_xml(obj_xml('cat', difficult=1))})
    for filter_cfg in (dict(filter_empty_gt=True), dict(filter_empty_gt=False)):
        with pytest.raises(UserInputError, match=r'none of the 2 images of .*trainval\.txt has an object to train on'):
            build(data_root, filter_cfg=filter_cfg)
    assert len(build(data_root, test_mode=True)) == 2
