from .vgg16 import VGG16
from .zf_net import ZFNet

__all__ = ['VGG16', 'ZFNet']
