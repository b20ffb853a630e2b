"""The backbones' ImageNet initialisation: where the paper's weights come from, and the check that
a config's pre-trained checkpoint exists before training starts.

The paper initialises the shared conv layers (and the detector's fc6 / fc7) from ImageNet
classifiers (§3.1.3: the shared convolutional layers "are initialized by pre-training a model for
ImageNet classification, as is standard practice"); py-faster-rcnn trains from
``data/imagenet_models/{ZF,VGG16}.v2.caffemodel``, downloaded by its ``data/scripts/fetch_imagenet_models.sh``. The paper configs name the converted
file in ``model.init_cfg`` (as MMDetection's configs name theirs); ``model.init_cfg=None`` trains
from scratch (Kaiming-initialised convs), which :func:`check_imagenet_initialisation` reports.
"""
import os.path as osp
from typing import NamedTuple, Optional, Sequence, Tuple, Union

from ...utils.user_input_error import UserFileNotFoundError

CONVERT_TOOL = 'tools/model_converters/convert_imagenet_weights.py'
FETCH_SCRIPT = "py-faster-rcnn's data/scripts/fetch_imagenet_models.sh"
#: The converter's format for torchvision's VGG-16 (``vgg16-397923af.pth``), the alternative source.
TORCHVISION_VGG16_FORMAT = 'vgg16-torchvision'


class ImageNetModel(NamedTuple):
    """The ImageNet classifier py-faster-rcnn starts a backbone from."""
    caffemodel: str  # py-faster-rcnn's file name
    converter_format: str  # the format name of tools/model_converters/convert_imagenet_weights.py


#: backbone type -> its ImageNet model.
IMAGENET_MODELS = {
    'VGG16': ImageNetModel('VGG16.v2.caffemodel', 'vgg16-caffe'),
    'ZFNet': ImageNetModel('ZF.v2.caffemodel', 'zf-caffe'),
}

InitCfg = Union[None, dict, Sequence[dict]]


def pretrained_checkpoint(init_cfg: InitCfg) -> Optional[str]:
    """The ``checkpoint`` of the ``Pretrained`` entry of an ``init_cfg`` (a dict or a list), if any."""
    for entry in [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg or []):
        if entry.get('type') == 'Pretrained':
            return entry.get('checkpoint')
    return None


def _is_local(checkpoint: str) -> bool:
    # 'https://...', 'torchvision://vgg16', 'open-mmlab://...', 's3://...': mmengine fetches those.
    return '://' not in checkpoint


def missing_weights_message(key: str, checkpoint: str, backbone_type: Optional[str]) -> str:
    """One line: the file the config expects, where the paper's weights come from, the command that
    converts them, and how to train from scratch instead."""
    model = IMAGENET_MODELS.get(backbone_type)
    if model is None:
        source = (f'convert your backbone\'s ImageNet weights to {checkpoint} (see {CONVERT_TOOL} for '
                  'the layout)')
    else:
        source = (f'get {model.caffemodel} ({FETCH_SCRIPT}) and run: python {CONVERT_TOOL} '
                  f'{model.converter_format} {model.caffemodel} {checkpoint}')
        if model.converter_format == IMAGENET_MODELS['VGG16'].converter_format:
            source += (f" (or, not the paper's initialisation: torchvision's vgg16-397923af.pth with "
                       f'format {TORCHVISION_VGG16_FORMAT})')
    return (f'{key}: {checkpoint} does not exist. The paper trains from ImageNet weights (§3.1.3): {source}; '
            'to train from scratch instead, set model.init_cfg=None (e.g. --cfg-options '
            'model.init_cfg=None)')


def check_imagenet_initialisation(detector_init_cfg: InitCfg, backbone_cfg: Optional[dict]) -> Tuple[
        Optional[str], Optional[str]]:
    """Checks that a detector's pre-trained checkpoint exists; cheap, so call it before building
    anything.

    Args:
        detector_init_cfg: ``model.init_cfg`` (a ``Pretrained`` entry loads the whole detector's
            ImageNet layers, the converter's layout).
        backbone_cfg: ``model.backbone`` (its own ``init_cfg`` may be ``Pretrained`` instead).

    Returns:
        ``(config key, checkpoint)`` of the pre-trained checkpoint, or ``(None, None)`` when the
        model trains from scratch.

    Raises:
        UserFileNotFoundError: the checkpoint is a local path that does not exist (message:
            :func:`missing_weights_message`).
    """
    backbone_cfg = backbone_cfg or {}
    for key, init_cfg in (('model.init_cfg.checkpoint', detector_init_cfg),
                          ('model.backbone.init_cfg.checkpoint', backbone_cfg.get('init_cfg'))):
        checkpoint = pretrained_checkpoint(init_cfg)
        if checkpoint is None:
            continue
        if _is_local(checkpoint) and not osp.isfile(osp.expanduser(checkpoint)):
            raise UserFileNotFoundError(missing_weights_message(key, checkpoint, backbone_cfg.get('type')))
        return key, checkpoint
    return None, None
