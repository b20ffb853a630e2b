"""Converting ImageNet-pretrained VGG-16 / ZF weights into this project's detector layout.

Faster R-CNN starts the shared conv layers and the detector's fc6 / fc7 from ImageNet classifiers
(§3.3, §4: "the shared convolutional layers are initialized by pre-training a model for ImageNet
classification"; py-faster-rcnn's ``data/imagenet_models/{ZF,VGG16}.v2.caffemodel``). This module
turns such weights into a checkpoint whose keys are full detector paths, so that it loads through
an MMEngine config::

    model = dict(init_cfg=dict(type='Pretrained', checkpoint='vgg16_caffe_layout.pth'))
    # or the backbone alone:
    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='vgg16_caffe_layout.pth', prefix='backbone.')))

Command line: ``python tools/model_converters/convert_imagenet_weights.py {vgg16-torchvision,zf-caffe,vgg16-caffe}
SRC DST [--no-input-adapt]``; SRC is a ``.caffemodel``, a ``.npz`` or a ``.pth`` file.

Output file
-----------
``torch.save`` of ``{'state_dict': {...}, 'meta': {'source': <file name>, 'format': <source
format>, 'input_adapted': <bool>}}``. The state dict holds contiguous float32 tensors only (the
file loads with ``torch.load(..., weights_only=True)``) under the keys ``backbone.<conv>.weight`` /
``.bias`` (``conv1_1`` … ``conv5_3`` of :class:`VGG16`, ``conv1`` … ``conv5`` of :class:`ZFNet`)
and ``roi_head.bbox_head.fc6.weight`` / ``.bias``, ``roi_head.bbox_head.fc7.weight`` / ``.bias``
(:class:`FastRCNNBBoxHead`; fc6 is an ``nn.Linear`` over the RoI-pooled map flattened in (C, H, W)
order: 512×7×7 = 25088 inputs for VGG-16, 256×6×6 = 9216 for ZF). The ImageNet fc8 is dropped.
The file is written atomically (``utils/atomic_write.py``: temporary file, fsync, ``os.replace``):
a failed conversion leaves no partial output and an existing ``DST`` untouched.

Source format ``vgg16-torchvision``
-----------------------------------
``torchvision.models.vgg16().state_dict()`` (e.g. ``vgg16-397923af.pth``):
``features.{0,2,5,7,10,12,14,17,19,21,24,26,28}`` are conv1_1 … conv5_3, ``classifier.0`` is fc6
(4096 × 25088; torchvision flattens its 512×7×7 pool5 in (C, H, W) order too), ``classifier.3`` is
fc7, ``classifier.6`` (fc8) is dropped. A file holding ``{'state_dict': {...}}`` is accepted too.

torchvision's VGG was trained on RGB images scaled to [0, 1] and normalised with the ImageNet
mean ``m = (0.485, 0.456, 0.406)`` and std ``s = (0.229, 0.224, 0.225)``, while the paper's
pipeline (ours) feeds BGR 0–255 pixels minus Caffe's means ``μ`` (B, G, R = 102.9801, 115.9465,
122.7717; py-faster-rcnn ``PIXEL_MEANS``) with no std. By default that difference is folded into
conv1_1 (*input adaptation*, :func:`adapt_conv1_to_caffe_input`). For a pixel with 0–255 value
``p_c`` in colour ``c`` (R, G, B), torchvision's input is ``x_c = (p_c / 255 − m_c) / s_c`` and
ours is ``x'_c = p_c − μ_c`` (stored at BGR index ``2 − c``), so
``x_c = x'_c / (255 s_c) + (μ_c − 255 m_c) / (255 s_c)``. Substituting into
``y_o = b_o + Σ_c Σ_k W[o, c, k] x_c(k)`` gives the converted layer

    W'[o, 2 − c, k] = W[o, c, k] / (255 s_c)
    b'_o = b_o + Σ_c (μ_c − 255 m_c) / (255 s_c) · Σ_k W[o, c, k]
         = b_o + Σ_c' (μ_c' − 255 m_c') · Σ_k W'[o, c', k]          (c' indexing BGR)

which answers our input exactly as torchvision's conv1_1 answers torchvision's input on every 3×3
window that lies inside the image. The 1-pixel border ring differs: conv1_1 pads with zeros, and a
zero means the colour ``μ`` (the Caffe mean) in our convention but ``255 m`` = (123.675, 116.28,
103.53) RGB in torchvision's — off by (0.90, 0.33, 0.55) grey levels from μ (RGB). The converted
layer equals torchvision's conv1_1 run with padding of the Caffe mean colour. Everything after
conv1_1 is unchanged. ``--no-input-adapt`` (``input_adapt=False``) copies conv1_1 as is, for
users who switch the data preprocessor to torchvision's normalisation (RGB, mean ``255 m``,
std ``255 s``).

Source formats ``zf-caffe`` / ``vgg16-caffe`` (py-faster-rcnn's Caffe models)
------------------------------------------------------------------------------
py-faster-rcnn's ImageNet models are Caffe files, ``ZF.v2.caffemodel`` and ``VGG16.v2.caffemodel``
(its ``data/scripts/fetch_imagenet_models.sh`` downloads them to ``data/imagenet_models/``). They are
read directly, without Caffe (:mod:`.caffemodel`: the protobuf ``NetParameter``, current ``layer``
and legacy V1 ``layers`` entries, blob ``shape`` or legacy num/channels/height/width)::

    python tools/model_converters/convert_imagenet_weights.py zf-caffe ZF.v2.caffemodel checkpoints/zf_caffe_layout.pth
    python tools/model_converters/convert_imagenet_weights.py vgg16-caffe VGG16.v2.caffemodel checkpoints/vgg16_caffe_layout.pth

A file whose name ends in ``.caffemodel`` is read as a Caffe model. The same formats also accept
the blobs dumped to a flat dict ``{'<layer>.weight': array, '<layer>.bias': array}``: a numpy
``.npz`` archive (read with ``allow_pickle=False``) or a ``torch.save`` file of a dict (read with
``weights_only=True``; values may be tensors or numpy arrays, and a ``{'<layer>': [weight, bias]}``
dict, as pycaffe's ``net.params`` lists them, is accepted too).
Layer names are those of py-faster-rcnn's prototxts: ``conv1`` … ``conv5``, ``fc6``, ``fc7`` for
ZF; ``conv1_1`` … ``conv5_3``, ``fc6``, ``fc7`` for VGG-16; other layers (``fc8``) are ignored.
Shapes are Caffe's blob shapes: conv weights (out, in, kh, kw), biases (out,), InnerProduct
weights (out, in). Legacy (V1) Caffe blobs are 4-D and also accepted: biases (1, 1, 1, out),
InnerProduct weights (1, 1, out, in). fc6 may also come conv-style as (out, C, H, W) with the
pool5 / RoI map shape (C, H, W) = (512, 7, 7) for VGG-16, (256, 6, 6) for ZF (likewise fc7 as
(out, 4096, 1, 1)); it is reshaped to (out, C·H·W), which keeps Caffe's (C, H, W) flattening
order. Caffe models already take BGR, mean-subtracted 0–255 input: no input adaptation.

Any missing key raises ``KeyError`` naming the keys; any other shape (e.g. a fc6 for another
spatial size), non-floating values or an unreadable file raise ``ValueError`` naming the key or
file, the shape found and the shape expected.
"""
import os
import zipfile
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from ..models.backbones.imagenet_initialisation import IMAGENET_MODELS, TORCHVISION_VGG16_FORMAT
from ..models.backbones.vgg16 import VGG16_BLOCKS
from ..models.backbones.zf_net import ZF_CONVS
from ..utils.atomic_write import atomic_torch_save
from ..utils.checkpoint_safety import allow_mmengine_checkpoints
from .caffemodel import CAFFEMODEL_SUFFIX, read_caffemodel

ArrayLike = Union[Tensor, np.ndarray]

VGG16_CAFFE_FORMAT = IMAGENET_MODELS['VGG16'].converter_format  # 'vgg16-caffe'
ZF_CAFFE_FORMAT = IMAGENET_MODELS['ZFNet'].converter_format  # 'zf-caffe'
SOURCE_FORMATS = (TORCHVISION_VGG16_FORMAT, ZF_CAFFE_FORMAT, VGG16_CAFFE_FORMAT)

#: torchvision's ImageNet normalisation of RGB images in [0, 1].
TORCHVISION_RGB_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_RGB_STD = (0.229, 0.224, 0.225)
#: The paper's / py-faster-rcnn's BGR pixel means (``cfg.PIXEL_MEANS``), on 0-255 pixels, no std.
CAFFE_BGR_MEAN = (102.9801, 115.9465, 122.7717)

FC_WIDTH = 4096  # fc6 / fc7 of both ImageNet classifiers (FastRCNNBBoxHead fc_out_channels)
# (C, H, W) of the RoI-pooled map that fc6 flattens: conv5 channels × RoI pooling output size.
VGG16_FC6_INPUT = (VGG16_BLOCKS[-1][2], 7, 7)
ZF_FC6_INPUT = (ZF_CONVS[-1][1], 6, 6)


class LayerSpec(NamedTuple):
    """One converted layer.

    Attributes:
        source: layer name in the source file (``'features.0'``, ``'conv1_1'``, ...); its
            parameters are ``<source>.weight`` and ``<source>.bias``.
        target: module path in the detector (``'backbone.conv1_1'``,
            ``'roi_head.bbox_head.fc6'``, ...).
        weight_shape: the weight's shape in the target layout.
        fc_input: for fully connected layers, the (C, H, W) map they flatten (a conv-style
            (out, C, H, W) source weight is accepted); ``None`` for conv layers.
    """
    source: str
    target: str
    weight_shape: Tuple[int, ...]
    fc_input: Optional[Tuple[int, int, int]] = None


def _fc_specs(names: Sequence[str], fc6_input: Tuple[int, int, int]) -> List[LayerSpec]:
    fc6, fc7 = names
    return [
        LayerSpec(fc6, 'roi_head.bbox_head.fc6', (FC_WIDTH, int(np.prod(fc6_input))), fc6_input),
        LayerSpec(fc7, 'roi_head.bbox_head.fc7', (FC_WIDTH, FC_WIDTH), (FC_WIDTH, 1, 1)),
    ]


def _vgg16_specs(torchvision_names: bool) -> List[LayerSpec]:
    specs = []
    in_channels, index = 3, 0
    for block, num_convs, out_channels in VGG16_BLOCKS:
        for i in range(1, num_convs + 1):
            name = f'conv{block}_{i}'
            source = f'features.{index}' if torchvision_names else name
            specs.append(LayerSpec(source, f'backbone.{name}', (out_channels, in_channels, 3, 3)))
            in_channels = out_channels
            index += 2  # torchvision's features: Conv2d, ReLU, ...
        index += 1  # ... and a MaxPool2d after every block
    fc_names = ('classifier.0', 'classifier.3') if torchvision_names else ('fc6', 'fc7')
    return specs + _fc_specs(fc_names, VGG16_FC6_INPUT)


def _zf_specs() -> List[LayerSpec]:
    specs = []
    in_channels = 3
    for name, out_channels, kernel, *_ in ZF_CONVS:
        specs.append(LayerSpec(name, f'backbone.{name}', (out_channels, in_channels, kernel, kernel)))
        in_channels = out_channels
    return specs + _fc_specs(('fc6', 'fc7'), ZF_FC6_INPUT)


def layer_specs(fmt: str) -> List[LayerSpec]:
    """The layers that format ``fmt`` (one of :data:`SOURCE_FORMATS`) provides, in network order."""
    if fmt == TORCHVISION_VGG16_FORMAT:
        return _vgg16_specs(torchvision_names=True)
    if fmt == VGG16_CAFFE_FORMAT:
        return _vgg16_specs(torchvision_names=False)
    if fmt == ZF_CAFFE_FORMAT:
        return _zf_specs()
    raise ValueError(f'unknown source format {fmt!r}; expected one of {", ".join(SOURCE_FORMATS)}')


def adapt_conv1_to_caffe_input(
        weight: Tensor, bias: Tensor,
        rgb_mean: Sequence[float] = TORCHVISION_RGB_MEAN,
        rgb_std: Sequence[float] = TORCHVISION_RGB_STD,
        bgr_pixel_mean: Sequence[float] = CAFFE_BGR_MEAN) -> Tuple[Tensor, Tensor]:
    """Folds torchvision's input normalisation into the first conv layer (module docstring).

    Args:
        weight: (out, 3, kh, kw) weight trained on RGB input ``(p / 255 - rgb_mean) / rgb_std``.
        bias: (out,) bias of that layer.
        rgb_mean, rgb_std: torchvision's normalisation (RGB order, [0, 1] scale).
        bgr_pixel_mean: the means our pipeline subtracts from BGR 0-255 pixels.

    Returns:
        ``(weight, bias)`` (float32) for BGR input ``p - bgr_pixel_mean``: the same response as the
        original layer on every window that does not touch the zero padding. Computed in float64:
        ``W'[:, 2 - c] = W[:, c] / (255 s_c)``,
        ``b' = b + Σ_c' (μ_c' - 255 m_c') Σ_k W'[:, c', k]`` (c' in BGR order).
    """
    if weight.dim() != 4 or weight.shape[1] != 3 or bias.shape != weight.shape[:1]:
        raise ValueError(f'expected a (out, 3, kh, kw) weight and (out,) bias, got '
                         f'{tuple(weight.shape)} and {tuple(bias.shape)}')
    to_bgr = [2, 1, 0]
    std_bgr = torch.tensor(rgb_std, dtype=torch.float64)[to_bgr]
    mean_bgr = torch.tensor(rgb_mean, dtype=torch.float64)[to_bgr]
    pixel_mean_bgr = torch.tensor(bgr_pixel_mean, dtype=torch.float64)
    new_weight = weight.double()[:, to_bgr] / (255.0 * std_bgr).view(1, 3, 1, 1)
    # Our zero is the pixel value μ, torchvision's is 255 m: the constant offset per input channel.
    offset = pixel_mean_bgr - 255.0 * mean_bgr
    new_bias = bias.double() + (new_weight.sum(dim=(2, 3)) * offset).sum(dim=1)
    return new_weight.float(), new_bias.float()


def _as_float32(value: ArrayLike, key: str) -> Tensor:
    """A CPU float32 tensor that owns compact storage (so ``torch.save`` writes only its values)."""
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.floating):
            raise ValueError(f'{key}: expected floating-point values, got dtype {value.dtype}')
        return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    if isinstance(value, Tensor):
        if not value.is_floating_point():
            raise ValueError(f'{key}: expected floating-point values, got dtype {value.dtype}')
        tensor = value.detach().to(device='cpu', dtype=torch.float32).contiguous()
        if tensor.untyped_storage().nbytes() != tensor.numel() * tensor.element_size():
            tensor = tensor.clone()  # a view into a larger storage
        return tensor
    raise ValueError(f'{key}: expected a tensor or numpy array, got {type(value).__name__}')


def _weight(value: ArrayLike, key: str, spec: LayerSpec) -> Tensor:
    tensor = _as_float32(value, key)
    shape = tuple(tensor.shape)
    accepted = [spec.weight_shape]
    if spec.fc_input is not None:  # Caffe InnerProduct: legacy 4-D blob, or conv-style (out, C, H, W)
        out_features, in_features = spec.weight_shape
        accepted += [(out_features, ) + spec.fc_input, (1, 1, out_features, in_features)]
    if shape not in accepted:
        expected = ' or '.join(str(s) for s in dict.fromkeys(accepted))
        raise ValueError(f'{key}: weight of shape {shape}, expected {expected} '
                         f'(for {spec.target})')
    return tensor.reshape(spec.weight_shape)


def _bias(value: ArrayLike, key: str, spec: LayerSpec) -> Tensor:
    tensor = _as_float32(value, key)
    shape = tuple(tensor.shape)
    out_channels = spec.weight_shape[0]
    if shape not in ((out_channels, ), (1, 1, 1, out_channels)):  # the latter: legacy Caffe blob
        raise ValueError(f'{key}: bias of shape {shape}, expected ({out_channels},) '
                         f'(for {spec.target})')
    return tensor.reshape(out_channels)


def convert_state_dict(source: Mapping[str, ArrayLike], fmt: str, input_adapt: bool = True,
                       origin: str = 'source') -> Dict[str, Tensor]:
    """Maps the layers of a ``fmt`` state dict / blob dict to detector keys (module docstring).

    Args:
        source: ``{'<layer>.weight': ..., '<layer>.bias': ...}`` (tensors or numpy arrays); keys
            of other layers (fc8, ...) are ignored.
        fmt: one of :data:`SOURCE_FORMATS`.
        input_adapt: for ``vgg16-torchvision``, fold torchvision's input normalisation into
            conv1_1 (:func:`adapt_conv1_to_caffe_input`); ignored for the Caffe formats.
        origin: what to call the source in error messages (e.g. its file name).

    Returns:
        ``{'backbone.<conv>.weight': ..., ..., 'roi_head.bbox_head.fc7.bias': ...}``: contiguous
        float32 tensors (unchanged float32 tensors may share memory with ``source``).

    Raises:
        KeyError: a layer's weight or bias is missing (all missing keys are named).
        ValueError: unknown format, or a value of the wrong shape or type.
    """
    specs = layer_specs(fmt)
    missing = [f'{spec.source}.{param}' for spec in specs for param in ('weight', 'bias')
               if f'{spec.source}.{param}' not in source]
    if missing:
        raise KeyError(f'{origin}: missing {", ".join(missing)} (is it a {fmt} file?)')
    converted = {}
    for i, spec in enumerate(specs):
        weight = _weight(source[f'{spec.source}.weight'], f'{origin}: {spec.source}.weight', spec)
        bias = _bias(source[f'{spec.source}.bias'], f'{origin}: {spec.source}.bias', spec)
        if i == 0 and fmt == TORCHVISION_VGG16_FORMAT and input_adapt:
            weight, bias = adapt_conv1_to_caffe_input(weight, bias)
        converted[f'{spec.target}.weight'] = weight
        converted[f'{spec.target}.bias'] = bias
    return converted


def _is_npz(path: str) -> bool:
    """An ``np.savez`` archive is a zip of ``.npy`` members (a ``torch.save`` zip holds ``data.pkl``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return bool(names) and all(name.endswith('.npy') for name in names)


def load_source_weights(path: Union[str, os.PathLike]) -> Dict[str, ArrayLike]:
    """Reads a source file: a Caffe ``.caffemodel``, a numpy ``.npz`` archive or a ``torch.save``-d
    dict (module docstring), as ``{'<layer>.weight': ..., '<layer>.bias': ...}``.

    Nothing in the file is executed: a ``.caffemodel`` is parsed as a protobuf message, ``.npz`` is
    read with ``allow_pickle=False``, torch files with ``weights_only=True`` (numpy arrays allowed).
    A ``{'state_dict': {...}}`` wrapper is unpacked and ``{'<layer>': [weight, bias]}`` entries
    (a Caffe layer's blobs) become ``'<layer>.weight'`` / ``'<layer>.bias'``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is none of these formats, or does not hold a dict of arrays.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: no such file')
    if path.endswith(CAFFEMODEL_SUFFIX):
        return _split_layer_blobs(read_caffemodel(path), path)
    if _is_npz(path):
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except ValueError as exc:
            raise ValueError(f'{path}: cannot read the .npz archive ({exc})') from exc
    try:
        # Not the ``safe_globals`` context manager: on exit it removes its globals from the
        # process-wide allowlist, also those the plugin's import put there for every checkpoint.
        allow_mmengine_checkpoints()
        loaded = torch.load(path, map_location='cpu', weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # the weights-only unpickler fails in many ways on foreign files
        raise ValueError(f'{path}: neither a Caffe model (name it *{CAFFEMODEL_SUFFIX}), a numpy .npz '
                         'archive nor a torch file that loads with weights_only=True '
                         f'({type(exc).__name__}: {exc})') from exc
    if isinstance(loaded, Mapping) and isinstance(loaded.get('state_dict'), Mapping):
        loaded = loaded['state_dict']
    if not isinstance(loaded, Mapping):
        raise ValueError(f'{path}: expected a dict of weights, got {type(loaded).__name__}')
    return _split_layer_blobs(loaded, path)


def _split_layer_blobs(loaded: Mapping, path: str) -> Dict[str, ArrayLike]:
    """``{'<layer>': [weight, bias]}`` entries as ``'<layer>.weight'`` / ``'<layer>.bias'``; other
    entries unchanged."""
    weights = {}
    for key, value in loaded.items():
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError(f'{path}: {key}: expected [weight, bias], got {len(value)} blobs')
            weights[f'{key}.weight'], weights[f'{key}.bias'] = value
        else:
            weights[str(key)] = value
    return weights


def convert_imagenet_weights(fmt: str, src: Union[str, os.PathLike], dst: Union[str, os.PathLike],
                             input_adapt: bool = True) -> dict:
    """Converts the ImageNet weights in file ``src`` (format ``fmt``) and saves them to ``dst``.

    Args:
        fmt: one of :data:`SOURCE_FORMATS`.
        src: the source file (module docstring).
        dst: the checkpoint to write (atomically; overwritten if it exists; its folder is created).
        input_adapt: fold torchvision's input normalisation into conv1_1 (``vgg16-torchvision``).

    Returns:
        The saved checkpoint ``{'state_dict': {...}, 'meta': {'source', 'format',
        'input_adapted'}}``.
    """
    layer_specs(fmt)  # unknown format: fail before reading a large file
    src, dst = os.fspath(src), os.fspath(dst)
    state_dict = convert_state_dict(load_source_weights(src), fmt, input_adapt, origin=src)
    checkpoint = dict(
        state_dict=state_dict,
        meta=dict(source=os.path.basename(src), format=fmt,
                  input_adapted=bool(input_adapt and fmt == TORCHVISION_VGG16_FORMAT)))
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    atomic_torch_save(checkpoint, str(dst))
    return checkpoint
