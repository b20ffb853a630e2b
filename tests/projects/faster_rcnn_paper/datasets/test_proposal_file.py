"""Offline proposal files: .npz arrays that round-trip, and anything that could run code refused."""
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
    np.savez(path, image_ids=np.array(['a']), counts=np.array([1]), bboxes=np.zeros((1, 4), np.float32),
             scores=np.zeros(1, np.float32), meta=np.array([_Payload(str(marker))], dtype=object))
    with pytest.raises(UserInputError, match='p.npz'):
        load_proposal_file(path)
    assert not marker.exists()


def test_inconsistent_arrays_are_refused(tmp_path):
    path = str(tmp_path / 'p.npz')
    np.savez(path, image_ids=np.array(['a']), counts=np.array([2]), bboxes=np.zeros((1, 4), np.float32),
             scores=np.zeros(1, np.float32), meta=np.array('{}'))
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
