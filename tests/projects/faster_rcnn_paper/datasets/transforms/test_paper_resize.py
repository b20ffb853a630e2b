"""PaperResize is py-faster-rcnn's prep_im_for_blob: one scale factor, its rule, float resize."""
import cv2
import numpy as np
import pytest

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.datasets.transforms import paper_scale_factor
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.registry import init_default_scope
from tests.py_faster_rcnn_reference import im_scale

init_default_scope('mmdet')
PIXEL_MEANS = np.array([[[102.9801, 115.9465, 122.7717]]], np.float32)


@pytest.mark.parametrize('shape', [(375, 500), (500, 375), (333, 500), (100, 1000), (166, 1000),
                                   (167, 1000), (600, 600), (12, 10), (3000, 200), (281, 500)])
def test_scale_rule(shape):
    assert paper_scale_factor(*shape, 600, 1000) == im_scale(shape)


def test_rounding_in_the_rule():
    # 1199 x 1999: s = 600 / 1199 gives a longer side of 1000.33, which rounds to 1000, so
    # py-faster-rcnn keeps s (mmdet's min(1000 / 1999, 600 / 1199) would cap it).
    assert paper_scale_factor(1199, 1999, 600, 1000) == 600 / 1199 == im_scale((1199, 1999))
    assert min(1000 / 1999, 600 / 1199) != 600 / 1199
    # 599 x 999: 999 * 600 / 599 = 1000.67 rounds to 1001 > 1000: the longer side decides.
    assert paper_scale_factor(599, 999, 600, 1000) == 1000 / 999 == im_scale((599, 999))


def test_image_and_boxes_as_py_faster_rcnn():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(281, 500, 3), dtype=np.uint8)
    boxes = np.array([[0., 0., 499., 280.], [10., 20., 30., 40.]], np.float32)
    out = TRANSFORMS.build(dict(type='PaperResize', scale=(1000, 600)))(
        dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], gt_bboxes=HorizontalBoxes(boxes)))
    s = im_scale(img.shape)
    assert out['scale_factor'] == (s, s)
    # py-faster-rcnn: subtract the mean from the float image, then resize with cv2 (INTER_LINEAR).
    ref = cv2.resize(img.astype(np.float32) - PIXEL_MEANS, None, None, fx=s, fy=s,
                     interpolation=cv2.INTER_LINEAR)
    assert out['img'].dtype == np.float32 and out['img'].shape == ref.shape
    assert out['img_shape'] == ref.shape[:2]
    np.testing.assert_allclose(out['img'] - PIXEL_MEANS, ref, atol=1e-3)
    np.testing.assert_allclose(out['gt_bboxes'].tensor.numpy()[1], boxes[1] * s, rtol=1e-6)


def test_bad_scale():
    with pytest.raises(ValueError, match='PaperResize'):
        TRANSFORMS.build(dict(type='PaperResize', scale=(1000, )))
