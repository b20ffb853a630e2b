"""Offline proposal files: .npz arrays that round-trip, and anything that could run code refused."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from faster_rcnn_paper.datasets import load_proposal_file, read_proposal_meta, save_proposal_file
from faster_rcnn_paper.utils import UserInputError
from tests.projects.faster_rcnn_paper.datasets.test_paper_voc_dataset import ann_xml, build, make_voc, obj_xml


class _Payload:
    """Unpickling this creates ``path`` (what a crafted proposal file could do)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, 'w')


def crafted_pickle(path, marker):
    with open(path, 'wb') as f:
        pickle.dump({'JPEGImages/000001.jpg': _Payload(str(marker))}, f)


def write_arrays(path, counts=1, meta=np.array('{}'), save=np.savez):
    """An archive of one image with one box, written without save_proposal_file."""
    save(path, image_ids=np.array(['a']), counts=np.array([counts]), bboxes=np.zeros((1, 4), np.float32),
         scores=np.zeros(1, np.float32), meta=meta)


def proposals():
    return {'JPEGImages/000001.jpg': dict(bboxes=np.array([[1, 2, 30, 40], [5, 5, 9, 9]], np.float32),
                                          scores=np.array([0.9, 0.2], np.float32)),
            'JPEGImages/000002.jpg': dict(bboxes=np.zeros((0, 4), np.float32), scores=np.zeros(0, np.float32))}


def test_round_trip_with_meta(tmp_path):
    path = str(tmp_path / 'p.npz')
    save_proposal_file(path, proposals(), dict(stage='step1_rpn', iter=3, weights='abc'))
    loaded, meta = load_proposal_file(path)
    assert meta == dict(stage='step1_rpn', iter=3, weights='abc') == read_proposal_meta(path)
    assert sorted(loaded) == ['JPEGImages/000001.jpg', 'JPEGImages/000002.jpg']
    assert loaded['JPEGImages/000001.jpg']['bboxes'].tolist() == [[1, 2, 30, 40], [5, 5, 9, 9]]
    assert loaded['JPEGImages/000001.jpg']['scores'].dtype == np.float32
    assert loaded['JPEGImages/000002.jpg']['bboxes'].shape == (0, 4)
    with zipfile.ZipFile(path) as archive:  # plain arrays only
        assert sorted(archive.namelist()) == ['bboxes.npy', 'counts.npy', 'image_ids.npy', 'meta.npy', 'scores.npy']


def test_crafted_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'p.npz')
    crafted_pickle(path, marker)
    for read in (load_proposal_file, read_proposal_meta):
        with pytest.raises(UserInputError, match='p.npz: not a proposal file'):
            read(path)
    assert not marker.exists()


def test_archive_with_an_object_array_is_refused_without_running_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'p.npz')
    write_arrays(path, meta=np.array([_Payload(str(marker))], dtype=object))
    with pytest.raises(UserInputError, match='p.npz'):
        load_proposal_file(path)
    assert not marker.exists()


def test_inconsistent_arrays_are_refused(tmp_path):
    path = str(tmp_path / 'p.npz')
    write_arrays(path, counts=2)
    with pytest.raises(UserInputError, match='inconsistent arrays'):
        load_proposal_file(path)


def test_dataset_reads_npz_proposals_and_refuses_a_pickle(tmp_path):
    data_root = make_voc(tmp_path, {'000001': ann_xml(obj_xml())})
    good = str(tmp_path / 'good.npz')
    save_proposal_file(good, {'JPEGImages/000001.jpg': proposals()['JPEGImages/000001.jpg']})
    info = build(data_root, proposal_file=good).get_data_info(0)
    assert info['proposals']['bboxes'].tolist() == [[1, 2, 30, 40], [5, 5, 9, 9]]
    marker = tmp_path / 'pwned'
    bad = str(tmp_path / 'bad.pkl')
    crafted_pickle(bad, marker)
    with pytest.raises(UserInputError, match='bad.pkl: not a proposal file'):
        build(data_root, proposal_file=bad)
    assert not marker.exists()
    other = str(tmp_path / 'other.npz')
    save_proposal_file(other, {'JPEGImages/000009.jpg': proposals()['JPEGImages/000001.jpg']})
    with pytest.raises(UserInputError, match='no proposals for 1 of the 1 images'):
        build(data_root, proposal_file=other)
    assert os.path.isfile(good)


def one_image(bboxes, scores):
    return {'JPEGImages/000001.jpg': dict(bboxes=np.array(bboxes, np.float32), scores=np.array(scores, np.float32))}


@pytest.mark.parametrize('bboxes,scores', [
    ([[0, 0, np.nan, 10]], [0.5]),
    ([[0, -np.inf, 10, 10]], [0.5]),
    ([[0, 0, 10, np.inf]], [0.5]),
    ([[10, 0, 5, 10]], [0.5]),  # x1 > x2
    ([[0, 10, 10, 5]], [0.5]),  # y1 > y2
    ([[0, 0, 10, 10]], [np.nan]),
])
def test_garbage_boxes_and_scores_are_refused(tmp_path, bboxes, scores):
    path = str(tmp_path / 'p.npz')
    save_proposal_file(path, one_image(bboxes, scores), dict(stage='s'))
    with pytest.raises(UserInputError, match=r'p.npz: 1 proposals are not finite boxes'):
        load_proposal_file(path)


@pytest.mark.parametrize('meta', ['[1, 2]', '"text"', '3', 'null', '{bad json'])
def test_a_meta_that_is_not_a_json_object_is_refused(tmp_path, meta):
    path = str(tmp_path / 'p.npz')
    write_arrays(path, meta=np.array(meta))
    for read in (load_proposal_file, read_proposal_meta):
        with pytest.raises(UserInputError, match='p.npz: (the meta of a proposal file is a JSON object|bad meta)'):
            read(path)


def test_an_absurd_header_is_refused_before_allocating(tmp_path):
    """A header that claims 10^12 boxes (16 TB) in a file of a few hundred bytes."""
    path = str(tmp_path / 'p.npz')
    save_proposal_file(path, one_image([[0, 0, 10, 10]], [0.5]), dict(stage='s'))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, dict(descr='<f4', fortran_order=False, shape=(10**12, 4)))
    members['bboxes.npy'] = header.getvalue() + np.zeros((1, 4), np.float32).tobytes()
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(UserInputError, match=r'p.npz: member bboxes.npy claims shape \(1000000000000, 4\)'):
        load_proposal_file(path)


def test_a_compressed_archive_is_refused(tmp_path):
    path = str(tmp_path / 'p.npz')
    write_arrays(path, save=np.savez_compressed)
    with pytest.raises(UserInputError, match='is compressed'):
        read_proposal_meta(path)
