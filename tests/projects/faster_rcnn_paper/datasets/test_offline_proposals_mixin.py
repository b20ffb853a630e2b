"""OfflineProposalsMixin: a proposal file must cover every image of the dataset, with boxes inside
their images (within the margin); a bad one is refused naming the file."""
import numpy as np
import pytest

from faster_rcnn_paper.datasets import save_proposal_file
from faster_rcnn_paper.datasets.offline_proposals_mixin import MARGIN
from faster_rcnn_paper.utils import UserInputError
from tests.projects.faster_rcnn_paper.datasets.test_paper_voc_dataset import (HEIGHT, WIDTH, ann_xml, build,
                                                                               make_voc, obj_xml)


def write(path, box):
    save_proposal_file(str(path), {'JPEGImages/000001.jpg': dict(bboxes=np.array([box], np.float32),
                                                                  scores=np.array([0.5], np.float32))})


def test_boxes_up_to_the_margin_are_read(tmp_path):
    data_root = make_voc(tmp_path, {'000001': ann_xml(obj_xml())})
    box = [-MARGIN, -MARGIN, WIDTH + MARGIN, HEIGHT + MARGIN]
    write(tmp_path / 'p.npz', box)
    assert build(data_root, proposal_file=str(tmp_path / 'p.npz')).get_data_info(0)['proposals']['bboxes'].tolist() \
        == [box]


@pytest.mark.parametrize('box', [[0, 0, WIDTH + MARGIN + 1, 10], [0, 0, 10, HEIGHT + MARGIN + 1],
                                 [-MARGIN - 1, 0, 10, 10], [0, 0, 1e30, 1e30]])
def test_boxes_outside_the_image_are_refused(tmp_path, box):
    data_root = make_voc(tmp_path, {'000001': ann_xml(obj_xml())})
    write(tmp_path / 'p.npz', box)
    with pytest.raises(UserInputError, match=rf'p.npz: 1 proposals of .*000001.jpg \({WIDTH}x{HEIGHT}\) leave the '
                                             rf'image by more than {MARGIN} pixels'):
        build(data_root, proposal_file=str(tmp_path / 'p.npz'))
