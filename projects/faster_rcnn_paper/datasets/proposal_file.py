"""Offline proposal files in a format that cannot carry code.

Between the steps of 4-step alternating training (§3.2) the RPN's boxes for every image are
stored and read back by the next Fast R-CNN step (py-faster-rcnn ``rpn_generate`` writes a pickle).
A pickle can run arbitrary code when it is read, so ours is a numpy ``.npz`` archive of plain
arrays, read with ``allow_pickle=False``:

* ``image_ids``: str (M,), the key mmdet's ``load_proposals`` looks up, ``'<folder>/<file name>'``;
* ``counts``: int64 (M,), the number of boxes of each image, in the order of ``image_ids``;
* ``bboxes``: float32 (sum(counts), 4), (x1, y1, x2, y2) in original-image pixels;
* ``scores``: float32 (sum(counts),), each image's boxes sorted by decreasing score;
* ``meta``: a str holding JSON: which stage and which weights made the file (see
  ``AlternatingTrainingHook``).

Anything else (a pickle, an archive with other members, object arrays) is refused with a
:class:`UserInputError` naming the file, without being executed. So is garbage content in the right
format: an array whose header claims more data than the file holds (refused before anything is
allocated), boxes or scores that are not finite, boxes with x1 > x2 or y1 > y2, a ``meta`` that is
not a JSON object. Whether the boxes lie inside their images is checked where the image sizes are
known (``OfflineProposalsMixin``).
"""
import io
import json
import os.path as osp
import zipfile
from typing import Dict, Optional, Tuple

import numpy as np

from ..utils.atomic_write import atomic_write
from ..utils.user_input_error import UserInputError

MEMBERS = {'image_ids', 'counts', 'bboxes', 'scores', 'meta'}


def proposal_key(img_path: str) -> str:
    """The key of an image, as mmdet's ``BaseDetDataset.load_proposals`` builds it:
    '<image folder>/<file name>' (e.g. ``'JPEGImages/000005.jpg'``)."""
    folder, name = osp.split(img_path)
    return osp.join(osp.basename(folder), name)


def save_proposal_file(path: str, proposals: Dict[str, dict], meta: Optional[dict] = None) -> None:
    """Writes ``{image key: {'bboxes': (N, 4), 'scores': (N,)}}`` and ``meta`` to ``path``
    (atomically: a reader never sees a partial file)."""
    keys = sorted(proposals)
    bboxes = [np.asarray(proposals[k]['bboxes'], dtype=np.float32).reshape(-1, 4) for k in keys]
    scores = [np.asarray(proposals[k]['scores'], dtype=np.float32).reshape(-1) for k in keys]
    buffer = io.BytesIO()
    np.savez(buffer,
             image_ids=np.array(keys, dtype=str),
             counts=np.array([len(b) for b in bboxes], dtype=np.int64),
             bboxes=np.concatenate(bboxes) if bboxes else np.zeros((0, 4), np.float32),
             scores=np.concatenate(scores) if scores else np.zeros((0,), np.float32),
             meta=np.array(json.dumps(meta or {})))
    atomic_write(path, buffer.getvalue())


def _check_sizes(path: str) -> None:
    """Every member is stored uncompressed (as ``np.savez`` writes) and holds exactly the bytes
    its header announces, so reading it allocates no more than the file's size."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise UserInputError(f'{path}: member {info.filename} is compressed; proposal files '
                                     'are written uncompressed (np.savez), regenerate it')
            with archive.open(info) as member:
                try:
                    version = np.lib.format.read_magic(member)
                    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                                   (2, 0): np.lib.format.read_array_header_2_0}[version]
                    shape, _, dtype = read_header(member)
                except (ValueError, TypeError, KeyError) as e:
                    raise UserInputError(f'{path}: member {info.filename} is not a numpy array ({e})') from None
                claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if claimed != info.file_size - member.tell():
                    raise UserInputError(f'{path}: member {info.filename} claims shape {shape} '
                                         f'({claimed} bytes) but holds {info.file_size - member.tell()}')


def _open(path: str):
    if not zipfile.is_zipfile(path):
        raise UserInputError(f'{path}: not a proposal file of this project (an .npz archive of '
                             'arrays); pickled proposal files are refused, regenerate it')
    _check_sizes(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise UserInputError(f'{path}: unreadable proposal file ({e})') from None
    members = set(archive.files)
    if members != MEMBERS:
        raise UserInputError(f'{path}: a proposal file holds the arrays {sorted(MEMBERS)}, '
                             f'this one {sorted(members)}')
    return archive


def _meta(path: str, archive) -> dict:
    try:
        meta = json.loads(str(archive['meta']))
    except (ValueError, TypeError) as e:
        raise UserInputError(f'{path}: bad meta in proposal file ({e})') from None
    if not isinstance(meta, dict):
        raise UserInputError(f'{path}: the meta of a proposal file is a JSON object, this one {meta!r:.80}')
    return meta


def read_proposal_meta(path: str) -> dict:
    """The ``meta`` of a proposal file (raises UserInputError for anything but one)."""
    with _open(path) as archive:
        return _meta(path, archive)


def load_proposal_file(path: str) -> Tuple[Dict[str, dict], dict]:
    """``({image key: {'bboxes', 'scores'}}, meta)`` from a file written by
    :func:`save_proposal_file`; anything else raises UserInputError naming ``path``."""
    with _open(path) as archive:
        try:
            ids, counts = archive['image_ids'], archive['counts']
            bboxes, scores = archive['bboxes'], archive['scores']
        except ValueError as e:  # e.g. an object array, which would need pickle
            raise UserInputError(f'{path}: bad proposal file ({e})') from None
        meta = _meta(path, archive)
    ok = (ids.ndim == 1 and ids.dtype.kind == 'U' and counts.shape == ids.shape
          and counts.dtype.kind == 'i' and (counts >= 0).all() and bboxes.dtype == np.float32
          and bboxes.ndim == 2 and bboxes.shape[1] == 4 and scores.dtype == np.float32
          and scores.shape == (bboxes.shape[0],) and int(counts.sum()) == bboxes.shape[0])
    if not ok:
        raise UserInputError(f'{path}: inconsistent arrays in proposal file (image_ids {ids.shape}, '
                             f'counts {counts.shape}, bboxes {bboxes.shape}, scores {scores.shape})')
    bad = ~(np.isfinite(bboxes).all(axis=1) & np.isfinite(scores)
            & (bboxes[:, 0] <= bboxes[:, 2]) & (bboxes[:, 1] <= bboxes[:, 3]))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise UserInputError(f'{path}: {int(bad.sum())} proposals are not finite boxes (x1 <= x2, '
                             f'y1 <= y2) with a finite score, e.g. {bboxes[first].tolist()} score '
                             f'{float(scores[first])}; regenerate the file')
    ends = np.cumsum(counts)
    proposals = {str(k): dict(bboxes=bboxes[e - n:e], scores=scores[e - n:e])
                 for k, n, e in zip(ids, counts, ends)}
    return proposals, meta
