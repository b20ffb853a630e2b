"""PASCAL VOC-format detection data, read as py-faster-rcnn reads it, checked completely at load time.

py-faster-rcnn reads every annotation in ``lib/datasets/pascal_voc.py:_load_pascal_annotation``:

- boxes are ``xmin - 1, ymin - 1, xmax - 1, ymax - 1`` (0-based, inclusive corners), as mmdet's
  ``XMLDataset`` also does (``int(float(text)) - 1``);
- the class name is ``name.text.lower().strip()`` before it is looked up;
- ``difficult`` objects are dropped from the training ground truth (``use_diff=False``); mmdet keeps
  them with ``ignore_flag=1``, which excludes them from training and lets the VOC metric ignore them,
  the same outcome;
- there is no minimum box size (mmdet's VOC base config adds ``bbox_min_size=32``; ours does not).

py-faster-rcnn does no validation: a bad file crashes it wherever the value is first used, often deep
into training (the well-known ``assert (boxes[:, 2] >= boxes[:, 0]).all()`` in
``append_flipped_images`` is a box with ``xmin = 0`` wrapped around by its uint16 storage). mmdet's
``XMLDataset`` crashes at load time with an ``AttributeError`` on a missing element and says nothing
about missing images, unknown class names or boxes outside the image.

What is ours: every problem is found while the data list is loaded (dataset construction, before any
training iteration), and each kind is decided once:

- ``ann_file`` (the ImageSets list) missing: ``UserFileNotFoundError`` naming the path and where
  README says to put the data; empty: ``UserInputError`` naming it;
- an image id's XML file missing: ``UserFileNotFoundError`` naming the XML path and the image id;
- malformed XML, an object without ``<name>`` or ``<bndbox>``, a coordinate missing or not a finite
  number, a ``<difficult>`` that is not a number: ``UserInputError`` naming the XML file, the object
  (``object #k``, 1-based in file order) and the problem;
- image files missing (checked on local storage only; other backends are not probed): one
  ``UserFileNotFoundError`` once the whole list is read, with the count and the first few paths;
- image files that are empty or cannot be decoded, or that decode to another size than the XML's
  ``<size>`` (a JPEG turned by its EXIF orientation tag, as the decoder and py-faster-rcnn's
  ``cv2.imread`` turn it, annotated unturned; ``decoded_image_size.py``; local storage only): one
  ``UserInputError`` once the whole list is read, with the count and the first few files, so
  training never starts on misplaced boxes or stops at the image's first use;
- training data (``test_mode=False``) in which no image has an object that trains (all without
  objects or with ``difficult`` ones only, e.g. class names that match no ``<name>``): a
  ``UserInputError`` naming ``ann_file``;

(``UserInputError`` is a ``ValueError`` and ``UserFileNotFoundError`` also a ``FileNotFoundError``;
the tools print them as one line.)
- unknown class name: the object is skipped (its other elements are not checked), with one warning
  per class name;
- ``xmax < xmin`` or ``ymax < ymin``: the object is skipped, with a warning;
- a box entirely outside the image: the object is skipped, with a warning;
- a box partly outside the image: clipped to ``[0, width - 1] × [0, height - 1]``, with a warning;
- an unusable ``<size>`` (a width or height that is not a positive number): the size is read from the
  image, as mmdet does when ``<size>`` is absent, with a warning;
- an EXIF orientation tag that mirrors the image or turns it by 180 degrees (the size cannot tell
  whether the boxes were drawn on the stored or on the shown pixels): a warning naming the file.

Warnings are one line each and go to the current ``MMLogger``; after ``max_warnings_per_kind`` of one
kind the rest are only counted. A summary line with all counts ends the loading (INFO when nothing was
wrong, WARNING otherwise).

Class names of the dataset (``metainfo=dict(classes=...)``) are compared after the same lower-casing
and stripping, so ``classes=('Dog',)`` matches ``<name>dog</name>``; two classes that become equal
that way are rejected.

Images that end up with no objects (none in the file, or all skipped) or with only ``difficult`` ones
are kept in the data list; mmdet's ``filter_cfg`` decides as usual: ``filter_empty_gt=True`` drops
images without instances during training, while a difficult-only image has instances (all with
``ignore_flag=1``) and stays as an all-background image. py-faster-rcnn's ``filter_roidb`` would drop
such an image in its RPN and end-to-end stages (rare on VOC).

Precomputed proposals (``proposal_file``, the Fast R-CNN steps of 4-step training) are read from
this project's ``.npz`` proposal files only (``proposal_file.py``): mmdet reads a pickle, which
could run code.
"""
import logging
import math
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import mmcv
from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS
from mmengine.fileio import LocalBackend, get, get_file_backend, get_local_path, list_from_file
from mmengine.logging import print_log

from ..utils.user_input_error import UserFileNotFoundError, UserInputError
from .decoded_image_size import check_decoded_size, loading_args
from .offline_proposals_mixin import OfflineProposalsMixin

_COORDS = ('xmin', 'ymin', 'xmax', 'ymax')
#: Where README says to put the data (named in the error when a data list is missing).
_DATA_HINT = ('put the dataset there or point data_root at it (PASCAL VOC: README.md, section '
              '"Train on real PASCAL VOC")')


class _LoadReport:
    """Warnings and counts collected while one data list is loaded (private to this module)."""

    def __init__(self, prefix: str, max_warnings_per_kind: int) -> None:
        self.prefix = prefix
        self.max_warnings_per_kind = max_warnings_per_kind
        self.unknown_classes: Counter = Counter()
        self.issues: Counter = Counter()  # kind of skipped/clipped/repaired problem -> count
        self.missing_images: List[Tuple[str, str]] = []  # (image path, image id)
        self.bad_images: List[str] = []  # one message per unreadable or mis-sized image
        self.num_objects = 0
        self.num_difficult = 0
        self.num_without_objects = 0
        self.num_only_ignored = 0

    def warn(self, msg: str) -> None:
        print_log(f'{self.prefix}: {msg}', logger='current', level=logging.WARNING)

    def unknown_class(self, name: str, xml_path: str) -> None:
        if name not in self.unknown_classes:
            self.warn(f'skipping objects of class {name!r}, not one of the dataset classes '
                      f'(first seen in {xml_path}); further ones are counted in the summary')
        self.unknown_classes[name] += 1

    def issue(self, kind: str, msg: str) -> None:
        """Count one problem of ``kind`` (skipped or repaired); log ``msg`` for the first
        ``max_warnings_per_kind`` of that kind."""
        self.issues[kind] += 1
        if self.issues[kind] <= self.max_warnings_per_kind:
            self.warn(msg)
            if self.issues[kind] == self.max_warnings_per_kind:
                self.warn(f'further {kind!r} problems are counted in the summary only')

    def raise_missing_images(self, num_images: int, ann_file: str, shown: int) -> None:
        if not self.missing_images:
            return
        listed = '; '.join(f'{path} (id {img_id!r})' for path, img_id in self.missing_images[:shown])
        more = ', ...' if len(self.missing_images) > shown else ''
        raise UserFileNotFoundError(
            f'{self.prefix}: image files not found for {len(self.missing_images)} of the {num_images} '
            f'ids listed in {ann_file}: {listed}{more}')

    def raise_bad_images(self, num_images: int, ann_file: str, shown: int) -> None:
        if not self.bad_images:
            return
        more = '; ...' if len(self.bad_images) > shown else ''
        raise UserInputError(
            f'{self.prefix}: {len(self.bad_images)} of the {num_images} images of {ann_file} cannot be used as '
            f'annotated (tools/misc/check_dataset.py lists them all): ' + '; '.join(self.bad_images[:shown]) + more)

    def log_summary(self, num_images: int, ann_file: str) -> None:
        problems = []
        if self.unknown_classes:
            per_class = ', '.join(f'{name!r}: {n}' for name, n in sorted(self.unknown_classes.items()))
            problems.append(f'skipped {sum(self.unknown_classes.values())} objects of unknown classes '
                            f'({per_class})')
        problems += [f'{kind}: {n}' for kind, n in sorted(self.issues.items())]
        summary = (f'{self.prefix}: loaded {num_images} images of {ann_file} with {self.num_objects} objects '
                   f'({self.num_difficult} difficult); {self.num_without_objects} images without '
                   f'objects, {self.num_only_ignored} with ignored objects only')
        if problems:
            summary += '; ' + '; '.join(problems)
        print_log(summary, logger='current', level=logging.WARNING if problems else logging.INFO)


@DATASETS.register_module()
class PaperVOCDataset(OfflineProposalsMixin, VOCDataset):
    """mmdet's ``VOCDataset`` reading annotations as py-faster-rcnn's
    ``pascal_voc.py:_load_pascal_annotation`` and rejecting or repairing bad ones at load time.

    Accepts every argument of ``VOCDataset`` / ``XMLDataset`` (``data_root``, ``ann_file`` — the
    ImageSets list, ``data_prefix=dict(sub_data_root=...)``, ``img_subdir``, ``ann_subdir``,
    ``metainfo``, ``filter_cfg``, ``test_mode``, ``backend_args``, ...). See the module docstring for
    what happens on each kind of bad input.
    """

    #: One-line warnings logged per kind of skipped or repaired problem; the rest are only counted.
    max_warnings_per_kind = 20
    #: Missing image paths listed in the error message.
    max_listed_missing_images = 5

    _load_report: Optional[_LoadReport] = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # mmdet's VOCDataset tags data under a 'VOC2007'/'VOC2012' folder, and VOCMetric then
        # prints its table with the 20 VOC class names whatever the dataset's classes are. A
        # dataset with its own classes (a user's, or the toy demo data) keeps its own names.
        if tuple(self._metainfo['classes']) != tuple(VOCDataset.METAINFO['classes']):
            self._metainfo['dataset_type'] = None

    # ------------------------------------------------------------------ loading the list
    def load_data_list(self) -> List[dict]:
        """Read the image ids of ``ann_file`` and parse the XML file of each.

        Raises:
            UserFileNotFoundError: ``ann_file``, an XML file or images are missing.
            UserInputError: ``ann_file`` is empty; an XML file is malformed or lacks a required value.
        """
        self._prepare_class_lookup()
        img_ids = self._read_image_ids()
        self._load_report = _LoadReport(type(self).__name__, self.max_warnings_per_kind)
        try:
            data_list = [self.parse_data_info(self._raw_img_info(img_id)) for img_id in img_ids]
            self._load_report.raise_missing_images(len(img_ids), self.ann_file,
                                                   self.max_listed_missing_images)
            self._load_report.raise_bad_images(len(img_ids), self.ann_file, self.max_listed_missing_images)
            self._load_report.log_summary(len(data_list), self.ann_file)
        finally:
            self._load_report = None
        return data_list

    def filter_data(self) -> List[dict]:
        """mmdet's filtering (``filter_cfg``); training data in which no image keeps an object that
        trains is a :class:`UserInputError` (mmengine would fail on the empty list, or the detector
        learn background only)."""
        data_list = super().filter_data()
        if not self.test_mode and not any(not inst['ignore_flag'] for info in data_list for inst in info['instances']):
            raise no_training_object_error(type(self).__name__, self.ann_file, len(self.data_list))
        return data_list

    def check_each_image(self) -> Iterator[Tuple[str, Union[dict, UserInputError]]]:
        """``(image id, data info)`` for every id of ``ann_file``, or ``(image id, error)`` when the
        files of that image are bad: what :meth:`load_data_list` reads, without stopping at the first
        bad file (``tools/misc/check_dataset.py`` reports them all). Build the dataset with
        ``lazy_init=True`` to call it. A missing or empty ``ann_file`` raises at once."""
        self._prepare_class_lookup()
        for img_id in self._read_image_ids():
            try:
                yield img_id, self.parse_data_info(self._raw_img_info(img_id))
            except UserInputError as error:
                yield img_id, error

    def _prepare_class_lookup(self) -> None:
        classes = self._metainfo.get('classes', None)
        if classes is None:
            raise UserInputError(f'{type(self).__name__} needs `classes` in its metainfo')
        self.cat2label = {cat: i for i, cat in enumerate(classes)}  # as mmdet's XMLDataset
        self._name2label = self._normalised_class_lookup(classes)

    def _raw_img_info(self, img_id: str) -> dict:
        return dict(img_id=img_id, file_name=osp.join(self.img_subdir, f'{img_id}.jpg'),
                    xml_path=osp.join(self.sub_data_root, self.ann_subdir, f'{img_id}.xml'))

    def _read_image_ids(self) -> List[str]:
        """The ImageSets list: one image id per line (py-faster-rcnn strips each line); blank lines
        are skipped. A missing or empty list is a :class:`UserInputError` naming it."""
        if self._is_local(self.ann_file) and not osp.isfile(self.ann_file):
            raise UserFileNotFoundError(f'{type(self).__name__}: ann_file (the ImageSets list of image '
                                        f'ids) not found: {self.ann_file!r}; {_DATA_HINT}')
        lines = list_from_file(self.ann_file, backend_args=self.backend_args)
        img_ids = [line.strip() for line in lines if line.strip()]
        if not img_ids:
            raise UserInputError(f'{type(self).__name__}: ann_file (the ImageSets list of image ids) '
                                 f'is empty: {self.ann_file!r}; it must list one image id per line')
        return img_ids

    @staticmethod
    def _normalised_class_lookup(classes: Sequence[str]) -> Dict[str, int]:
        """Map ``name.lower().strip()`` of each dataset class to its label."""
        lookup: Dict[str, int] = {}
        for label, cls in enumerate(classes):
            key = str(cls).lower().strip()
            if key in lookup:
                raise UserInputError(f'classes {classes[lookup[key]]!r} and {cls!r} are the same name after '
                                 f'lower-casing and stripping, as XML names are compared')
            lookup[key] = label
        return lookup

    def _is_local(self, path: str) -> bool:
        """Whether ``path`` is read from the local file system (``backend_args`` and the path's
        prefix, e.g. ``s3://``, choose the storage backend, as for every mmengine read)."""
        backend = get_file_backend(path, backend_args=self.backend_args, enable_singleton=True)
        return isinstance(backend, LocalBackend)

    # ------------------------------------------------------------------ one image
    def parse_data_info(self, img_info: dict) -> dict:
        """Parse the XML file of one image into mmdet's data info.

        Args:
            img_info (dict): ``img_id``, ``file_name`` (relative to ``sub_data_root``) and
                ``xml_path``, as built by :meth:`load_data_list`.

        Returns:
            dict: ``img_path``, ``img_id``, ``xml_path``, ``height``, ``width`` and ``instances``
            (each with ``bbox`` — 0-based inclusive ints —, ``bbox_label`` and ``ignore_flag``).
        """
        report = self._load_report
        standalone = report is None  # called outside load_data_list: report on this image alone
        if standalone:
            report = _LoadReport(type(self).__name__, self.max_warnings_per_kind)

        img_id, xml_path = img_info['img_id'], img_info['xml_path']
        img_path = osp.join(self.sub_data_root, img_info['file_name'])
        root = self._read_xml(xml_path, img_id)

        image_missing = self._is_local(img_path) and not osp.isfile(img_path)
        if image_missing:
            report.missing_images.append((img_path, img_id))
        size = self._image_size(root, xml_path, img_path, image_missing, report)

        instances = []
        if size is not None:  # without a size the image is missing and loading fails anyway
            instances = self._parse_objects(root, xml_path, *size, report)
        if standalone and image_missing:
            raise UserFileNotFoundError(f'{type(self).__name__}: image of id {img_id!r} not found: {img_path}')
        if size is not None and not image_missing and self._is_local(img_path):
            try:
                note = check_decoded_size(img_path, xml_path, *size, **loading_args(getattr(self, 'pipeline', None)))
            except UserInputError as error:
                if standalone:
                    raise
                report.bad_images.append(' '.join(str(error).split()))
            else:
                if note:
                    report.issue('mirrored or half-turned by EXIF', note)

        report.num_objects += len(instances)
        report.num_difficult += sum(inst['difficult'] for inst in instances)
        report.num_without_objects += not instances
        report.num_only_ignored += bool(instances) and all(inst['ignore_flag'] for inst in instances)
        for inst in instances:
            del inst['difficult']  # only needed for the counts above

        width, height = size if size is not None else (0, 0)
        return dict(img_path=img_path, img_id=img_id, xml_path=xml_path,
                    height=height, width=width, instances=instances)

    def _read_xml(self, xml_path: str, img_id: str) -> ET.Element:
        """Parse ``xml_path``; a missing file or an XML syntax error is reported with its path."""
        missing = UserFileNotFoundError(f'{type(self).__name__}: annotation file of image id {img_id!r} '
                                    f'not found: {xml_path} (listed in {self.ann_file})')
        if self._is_local(xml_path) and not osp.isfile(xml_path):
            raise missing
        try:
            with get_local_path(xml_path, backend_args=self.backend_args) as local_path:
                return ET.parse(local_path).getroot()
        except ET.ParseError as e:
            raise UserInputError(f'{xml_path}: malformed XML ({e})') from e
        except FileNotFoundError as e:  # reported so by a non-local backend
            raise missing from e

    def _image_size(self, root: ET.Element, xml_path: str, img_path: str, image_missing: bool,
                    report: _LoadReport) -> Optional[Tuple[int, int]]:
        """(width, height) from ``<size>``, else from the image itself as mmdet does; None when that
        is needed but the image is missing."""
        size = root.find('size')
        if size is not None:
            width, height = (_positive_int(size.findtext(key)) for key in ('width', 'height'))
            if width is not None and height is not None:
                return width, height
            report.issue('unusable <size>',
                             f'{xml_path}: unusable <size> (width {size.findtext("width")!r}, height '
                             f'{size.findtext("height")!r}); using the size of the image')
        if image_missing:
            return None
        img = mmcv.imfrombytes(get(img_path, backend_args=self.backend_args), backend='cv2')
        if img is None:
            raise UserInputError(f'{img_path}: cannot be decoded, and its size is needed because '
                             f'{xml_path} gives none')
        height, width = img.shape[:2]
        return width, height

    def _parse_objects(self, root: ET.Element, xml_path: str, width: int, height: int,
                       report: _LoadReport) -> List[dict]:
        """The ``<object>`` elements that are kept, as mmdet instances plus a ``difficult`` key."""
        instances = []
        for index, obj in enumerate(root.findall('object'), start=1):
            where = f'{xml_path}: object #{index}'
            name_text = obj.findtext('name')
            if name_text is None or not name_text.strip():
                raise UserInputError(f'{where} has no <name>')
            name = name_text.lower().strip()  # py-faster-rcnn: obj.find('name').text.lower().strip()
            label = self._name2label.get(name)
            if label is None:
                report.unknown_class(name, xml_path)
                continue
            difficult = _parse_difficult(obj, where)
            xml_box = _parse_bndbox(obj, f'{where} ({name!r})')
            # VOC boxes are 1-based inclusive: subtract 1 (int(float(text)) - 1, as mmdet and
            # py-faster-rcnn).
            x1, y1, x2, y2 = (int(v) - 1 for v in xml_box)
            shown = (f'{where} ({name!r}): bndbox xmin={xml_box[0]:g} ymin={xml_box[1]:g} '
                     f'xmax={xml_box[2]:g} ymax={xml_box[3]:g}')
            if x2 < x1 or y2 < y1:
                report.issue('inverted box skipped', f'{shown} has xmax < xmin or ymax < ymin; '
                                 f'object skipped')
                continue
            if x2 < 0 or y2 < 0 or x1 > width - 1 or y1 > height - 1:
                report.issue('box outside the image skipped',
                                 f'{shown} lies outside the {width}x{height} image; object skipped')
                continue
            clipped = [max(x1, 0), max(y1, 0), min(x2, width - 1), min(y2, height - 1)]
            if clipped != [x1, y1, x2, y2]:
                report.issue('box clipped to the image',
                                 f'{shown} extends outside the {width}x{height} image; clipped to '
                                 f'xmin={clipped[0] + 1} ymin={clipped[1] + 1} xmax={clipped[2] + 1} '
                                 f'ymax={clipped[3] + 1}')
            ignore = difficult or self._below_min_size(clipped)
            instances.append(dict(bbox=clipped, bbox_label=label, ignore_flag=int(ignore),
                                  difficult=difficult))
        return instances

    def _below_min_size(self, bbox: List[int]) -> bool:
        """mmdet's optional ``filter_cfg.bbox_min_size`` (off by default here, as in py-faster-rcnn):
        boxes with ``x2 - x1`` or ``y2 - y1`` below it are ignored, in training only."""
        min_size = self.bbox_min_size
        if min_size is None:
            return False
        if self.test_mode:
            raise UserInputError('filter_cfg.bbox_min_size must not be set with test_mode=True '
                             '(as in mmdet, it only applies to training data)')
        return bbox[2] - bbox[0] < min_size or bbox[3] - bbox[1] < min_size


def _positive_int(text: Optional[str]) -> Optional[int]:
    """``int(float(text))`` when that is a positive number, else None."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return int(value) if math.isfinite(value) and value >= 1 else None


def _parse_difficult(obj: ET.Element, where: str) -> bool:
    """``<difficult>``: absent or empty means 0 (as mmdet); otherwise it must be an integer."""
    text = obj.findtext('difficult')
    if text is None or not text.strip():
        return False
    try:
        return int(float(text)) != 0
    except ValueError:
        raise UserInputError(f'{where}: <difficult> is not a number: {text!r}') from None


def _parse_bndbox(obj: ET.Element, where: str) -> Tuple[float, float, float, float]:
    """The four ``<bndbox>`` values as finite floats (the file's 1-based inclusive convention)."""
    bndbox = obj.find('bndbox')
    if bndbox is None:
        raise UserInputError(f'{where} has no <bndbox>')
    values = []
    for key in _COORDS:
        text = bndbox.findtext(key)
        if text is None or not text.strip():
            raise UserInputError(f'{where}: <bndbox> has no <{key}>')
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise UserInputError(f'{where}: <bndbox> <{key}> is not a number: {text!r}')
        values.append(value)
    return tuple(values)


def no_training_object_error(dataset: str, ann_file: str, num_images: int) -> UserInputError:
    """The error for training data without one object that trains (also reported by
    ``tools/misc/check_dataset.py``)."""
    return UserInputError(f'{dataset}: none of the {num_images} images of {ann_file} has an object to train on '
                          '(none, or only difficult ones, of the dataset classes); check metainfo classes against '
                          'the <name> of the XML files, or the image list')
