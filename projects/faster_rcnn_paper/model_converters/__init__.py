"""Converting pre-trained weights from other frameworks into this project's layout (the library side
of ``tools/model_converters/``): the paper's ImageNet models (§4, py-faster-rcnn's Caffe models or
torchvision's VGG-16) into a checkpoint for ``init_cfg=dict(type='Pretrained', ...)``."""
from .caffemodel import read_caffemodel
from .imagenet_weights import SOURCE_FORMATS, convert_imagenet_weights, convert_state_dict

__all__ = ['read_caffemodel', 'SOURCE_FORMATS', 'convert_imagenet_weights', 'convert_state_dict']
