"""PaperRandomFlip flips boxes and proposals as py-faster-rcnn (imdb.append_flipped_images)."""
import numpy as np
import pytest

import faster_rcnn_paper  # noqa: F401  (registers the components)
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.registry import init_default_scope
from tests.py_faster_rcnn_reference import flip_boxes

init_default_scope('mmdet')


def sample(width=100, height=60):
    img = np.zeros((height, width, 3), np.uint8)
    img[:, :10] = 255  # a bright band at the left border
    boxes = np.array([[0., 5., 9., 59.], [20., 10., 49., 30.], [90., 0., 99., 9.]], np.float32)
    return dict(img=img, img_shape=(height, width), ori_shape=(height, width),
                gt_bboxes=HorizontalBoxes(boxes), gt_bboxes_labels=np.zeros(3, np.int64),
                gt_ignore_flags=np.zeros(3, bool))


def test_hand_written_boxes():
    flip = TRANSFORMS.build(dict(type='PaperRandomFlip', prob=1.0))
    out = flip(sample())
    assert out['flip'] and out['flip_direction'] == 'horizontal'
    # x1' = W - x2 - 1, x2' = W - x1 - 1 with W = 100
    assert out['gt_bboxes'].tensor.tolist() == [[90., 5., 99., 59.], [50., 10., 79., 30.], [0., 0., 9., 9.]]
    # The bright band (columns 0-9) is now columns 90-99, exactly under the first box.
    assert (out['img'][:, 90:] == 255).all() and (out['img'][:, :90] == 0).all()


def test_matches_py_faster_rcnn_and_homography_undoes_it():
    rng = np.random.default_rng(0)
    x1 = rng.uniform(0, 300, 50)
    y1 = rng.uniform(0, 200, 50)
    boxes = np.stack([x1, y1, x1 + rng.uniform(0, 200, 50), y1 + rng.uniform(0, 100, 50)], 1)
    boxes = np.floor(np.minimum(boxes, [499, 333, 499, 333])).astype(np.float32)
    results = sample(width=500, height=334)
    results['gt_bboxes'] = HorizontalBoxes(boxes)
    out = TRANSFORMS.build(dict(type='PaperRandomFlip', prob=1.0))(results)
    np.testing.assert_array_equal(out['gt_bboxes'].tensor.numpy(), flip_boxes(boxes, 500))
    back = out['gt_bboxes'].clone()
    back.project_(np.linalg.inv(out['homography_matrix']))
    np.testing.assert_allclose(back.tensor.numpy(), boxes, atol=1e-3)


def test_proposals_flip_with_the_image():
    """Inside ProposalBroadcaster the precomputed proposals get the same flip as the gt."""
    broadcaster = TRANSFORMS.build(dict(type='ProposalBroadcaster',
                                        transforms=[dict(type='PaperRandomFlip', prob=1.0)]))
    results = sample()
    proposals = np.array([[0., 0., 49., 59.], [10., 10., 20., 20.]], np.float32)
    results['proposals'] = HorizontalBoxes(proposals)
    out = broadcaster(results)
    np.testing.assert_array_equal(out['proposals'].tensor.numpy(), flip_boxes(proposals, 100))
    np.testing.assert_array_equal(out['gt_bboxes'].tensor.numpy(),
                                  flip_boxes(sample()['gt_bboxes'].tensor.numpy(), 100))


@pytest.mark.parametrize('prob', [0.0])
def test_no_flip_leaves_boxes(prob):
    out = TRANSFORMS.build(dict(type='PaperRandomFlip', prob=prob))(sample())
    np.testing.assert_array_equal(out['gt_bboxes'].tensor.numpy(), sample()['gt_bboxes'].tensor.numpy())
