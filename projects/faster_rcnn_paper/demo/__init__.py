"""What the offline demo (``make demo``, ``tools/demo/demo.py``) needs besides the library: generated toy
data and a stand-in for ImageNet pre-training.

Not part of the MMDetection plugin: ``import faster_rcnn_paper`` (what
``custom_imports=dict(imports=['faster_rcnn_paper'])`` does) does not import this package. The demo's
tools and the tests import it as ``faster_rcnn_paper.demo``.
"""
from .stand_in_pretraining import RoIClassifier, pretrain_on_toy_images, toy_scene_images
from .toy_voc import TOY_CLASSES, make_toy_voc, render_toy_image, toy_rng

__all__ = [
    'TOY_CLASSES', 'make_toy_voc', 'render_toy_image', 'toy_rng', 'RoIClassifier', 'pretrain_on_toy_images',
    'toy_scene_images'
]
