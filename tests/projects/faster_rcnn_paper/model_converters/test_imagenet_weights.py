"""Tests of the ImageNet weight conversion (faster_rcnn_paper.model_converters.imagenet_weights).

Source files are built here with random values in the shapes the real files have (torchvision's
``vgg16()`` state dict, py-faster-rcnn's ZF / VGG16 Caffe blobs); the shapes are written out
independently of the converter's tables.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner import load_checkpoint

from faster_rcnn_paper.models.backbones import VGG16, ZFNet
from faster_rcnn_paper.models.roi_heads import FastRCNNBBoxHead
from faster_rcnn_paper.model_converters.imagenet_weights import (CAFFE_BGR_MEAN, TORCHVISION_RGB_MEAN,
                                                      TORCHVISION_RGB_STD,
                                                      adapt_conv1_to_caffe_input,
                                                      convert_imagenet_weights, convert_state_dict,
                                                      layer_specs, load_source_weights)

CLI = Path(__file__).resolve().parents[4] / 'tools' / 'model_converters' / 'convert_imagenet_weights.py'

# torchvision's VGG configuration 'D' (VGG-16): conv widths, 'M' = max-pool.
VGG_CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']
VGG_CONVS = ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv3_3',
             'conv4_1', 'conv4_2', 'conv4_3', 'conv5_1', 'conv5_2', 'conv5_3']
TORCHVISION_CONV_INDICES = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
ZF_SHAPES = {  # py-faster-rcnn ZF: (out, in, kh, kw); fc6 sees 256 x 6 x 6 RoI features
    'conv1': (96, 3, 7, 7), 'conv2': (256, 96, 5, 5), 'conv3': (384, 256, 3, 3),
    'conv4': (384, 384, 3, 3), 'conv5': (256, 384, 3, 3), 'fc6': (4096, 9216), 'fc7': (4096, 4096),
    'fc8': (1000, 4096)}
HEAD = 'roi_head.bbox_head'


def torchvision_vgg16_shapes():
    """``torchvision.models.vgg16().state_dict()`` parameter shapes."""
    shapes, index, in_channels = {}, 0, 3
    for width in VGG_CFG:
        if width == 'M':
            index += 1
            continue
        shapes[f'features.{index}.weight'] = (width, in_channels, 3, 3)
        shapes[f'features.{index}.bias'] = (width, )
        in_channels, index = width, index + 2
    fc_shapes = ((4096, 25088), (4096, 4096), (1000, 4096))  # fc6, fc7, fc8
    for index, (out_features, in_features) in zip((0, 3, 6), fc_shapes):
        shapes[f'classifier.{index}.weight'] = (out_features, in_features)
        shapes[f'classifier.{index}.bias'] = (out_features, )
    return shapes


def torchvision_to_target():
    """torchvision key -> detector key (fc8 has none)."""
    mapping = {'classifier.0': f'{HEAD}.fc6', 'classifier.3': f'{HEAD}.fc7'}
    mapping.update({f'features.{i}': f'backbone.{name}'
                    for i, name in zip(TORCHVISION_CONV_INDICES, VGG_CONVS)})
    return {f'{src}.{p}': f'{dst}.{p}' for src, dst in mapping.items() for p in ('weight', 'bias')}


def caffe_vgg16_shapes():
    """py-faster-rcnn VGG16 blob shapes (same as torchvision's, Caffe layer names)."""
    names = dict(zip((f'features.{i}' for i in TORCHVISION_CONV_INDICES), VGG_CONVS))
    names.update({'classifier.0': 'fc6', 'classifier.3': 'fc7', 'classifier.6': 'fc8'})
    shapes = {}
    for key, shape in torchvision_vgg16_shapes().items():
        layer, param = key.rsplit('.', 1)
        shapes[f'{names[layer]}.{param}'] = shape
    return shapes


def zf_caffe_shapes():
    shapes = {}
    for name, shape in ZF_SHAPES.items():
        shapes[f'{name}.weight'] = shape
        shapes[f'{name}.bias'] = shape[:1]
    return shapes


def random_tensors(shapes, seed):
    generator = torch.Generator().manual_seed(seed)
    return {key: torch.randn(shape, generator=generator) for key, shape in shapes.items()}


def random_arrays(shapes, seed):
    rng = np.random.default_rng(seed)
    return {key: rng.standard_normal(shape, dtype=np.float32) for key, shape in shapes.items()}


def caffe_to_target(shapes):
    """Caffe key -> detector key for the layers that are converted."""
    mapping = {}
    for key in shapes:
        layer = key.split('.')[0]
        if layer == 'fc8':
            continue
        mapping[key] = f'{HEAD}.{key}' if layer.startswith('fc') else f'backbone.{key}'
    return mapping


@pytest.fixture(scope='module')
def torchvision_source():
    return random_tensors(torchvision_vgg16_shapes(), seed=0)


@pytest.fixture(scope='module')
def converted_vgg16_file(tmp_path_factory, torchvision_source):
    """A torchvision-layout file converted with input adaptation; returns (src, dst)."""
    folder = tmp_path_factory.mktemp('vgg16')
    src, dst = folder / 'vgg16-397923af.pth', folder / 'vgg16_caffe_layout.pth'
    torch.save(torchvision_source, src)
    convert_imagenet_weights('vgg16-torchvision', src, dst)
    return src, dst


@pytest.fixture(scope='module')
def zf_npz_file(tmp_path_factory):
    """ZF Caffe blobs as np.savez writes them, with a legacy (1, 1, out, in) fc7 blob and bias."""
    blobs = random_arrays(zf_caffe_shapes(), seed=1)
    blobs['fc7.weight'] = blobs['fc7.weight'].reshape(1, 1, 4096, 4096)
    blobs['fc7.bias'] = blobs['fc7.bias'].reshape(1, 1, 1, 4096)
    path = tmp_path_factory.mktemp('zf') / 'zf_caffe_blobs.npz'
    np.savez(path, **blobs)
    return path, blobs


def test_torchvision_layer_indices():
    specs = layer_specs('vgg16-torchvision')
    assert [spec.source for spec in specs] == (
        [f'features.{i}' for i in TORCHVISION_CONV_INDICES] + ['classifier.0', 'classifier.3'])
    assert [spec.target for spec in specs] == (
        [f'backbone.{name}' for name in VGG_CONVS] + [f'{HEAD}.fc6', f'{HEAD}.fc7'])
    with pytest.raises(ValueError, match='unknown source format'):
        layer_specs('resnet50')


@pytest.mark.parametrize('input_adapt', [True, False])
def test_torchvision_conversion_keys_shapes_values(torchvision_source, input_adapt):
    converted = convert_state_dict(torchvision_source, 'vgg16-torchvision', input_adapt=input_adapt)
    mapping = torchvision_to_target()
    assert set(converted) == set(mapping.values())  # fc8 (classifier.6) dropped
    for src_key, dst_key in mapping.items():
        source, target = torchvision_source[src_key], converted[dst_key]
        assert target.dtype == torch.float32 and target.is_contiguous()
        assert target.shape == source.shape, dst_key
        if input_adapt and src_key.startswith('features.0.'):
            assert not torch.equal(target, source)
        else:
            assert torch.equal(target, source), dst_key


def test_input_adaptation_matches_torchvision_on_the_interior(torchvision_source):
    weight, bias = torchvision_source['features.0.weight'], torchvision_source['features.0.bias']
    converted = convert_state_dict(torchvision_source, 'vgg16-torchvision')
    new_weight, new_bias = converted['backbone.conv1_1.weight'], converted['backbone.conv1_1.bias']

    generator = torch.Generator().manual_seed(2)
    image_bgr = torch.rand(1, 3, 37, 45, generator=generator, dtype=torch.float64) * 255  # 0-255 pixels
    caffe_input = image_bgr - torch.tensor(CAFFE_BGR_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    mean = torch.tensor(TORCHVISION_RGB_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(TORCHVISION_RGB_STD, dtype=torch.float64).view(1, 3, 1, 1)
    torchvision_input = (image_bgr.flip(1) / 255 - mean) / std  # RGB in [0, 1], normalised

    ours = F.conv2d(caffe_input, new_weight.double(), new_bias.double(), padding=1)
    theirs = F.conv2d(torchvision_input, weight.double(), bias.double(), padding=1)
    scale = theirs.abs().max()
    torch.testing.assert_close(ours[..., 1:-1, 1:-1], theirs[..., 1:-1, 1:-1],
                               rtol=1e-4, atol=1e-4 * scale)
    # The border differs (zero padding is another colour in each convention) ...
    assert not torch.allclose(ours, theirs, rtol=1e-4, atol=1e-4 * scale)
    # ... and equals torchvision's layer padded with the Caffe mean colour (module docstring).
    caffe_mean_rgb = torch.tensor(CAFFE_BGR_MEAN, dtype=torch.float64).flip(0).view(1, 3, 1, 1)
    padded = ((caffe_mean_rgb / 255 - mean) / std).expand(1, 3, 39, 47).clone()
    padded[..., 1:-1, 1:-1] = torchvision_input
    theirs_mean_padded = F.conv2d(padded, weight.double(), bias.double())
    torch.testing.assert_close(ours, theirs_mean_padded, rtol=1e-4, atol=1e-4 * scale)


def test_adapt_conv1_rejects_non_rgb_weights():
    with pytest.raises(ValueError, match=r'\(out, 3, kh, kw\)'):
        adapt_conv1_to_caffe_input(torch.zeros(64, 4, 3, 3), torch.zeros(64))


def test_conv_style_fc6_is_flattened_in_chw_order(torchvision_source):
    conv_style = torch.randn(4096, 512, 7, 7, generator=torch.Generator().manual_seed(3))
    source = dict(torchvision_source, **{'classifier.0.weight': conv_style})
    fc6 = convert_state_dict(source, 'vgg16-torchvision')[f'{HEAD}.fc6.weight']
    assert fc6.shape == (4096, 25088)
    for out, c, h, w in [(0, 0, 0, 0), (1, 0, 0, 1), (2, 0, 1, 0), (3, 1, 0, 0), (4095, 511, 6, 6),
                         (17, 300, 3, 5)]:
        assert fc6[out, c * 49 + h * 7 + w] == conv_style[out, c, h, w]


@pytest.mark.parametrize('key,shape,expected', [
    ('classifier.0.weight', (4096, 512, 6, 6), '(4096, 25088)'),  # ZF's 6x6 RoI size
    ('classifier.0.weight', (4096, 128, 14, 14), '(4096, 512, 7, 7)'),  # same numel, other layout
    ('classifier.0.bias', (1000, ), '(4096,)'),
    ('features.2.weight', (64, 64, 1, 1), '(64, 64, 3, 3)'),
])
def test_bad_shape_raises_naming_key_found_and_expected(torchvision_source, key, shape, expected):
    source = dict(torchvision_source, **{key: torch.zeros(shape)})
    with pytest.raises(ValueError) as info:
        convert_state_dict(source, 'vgg16-torchvision')
    message = str(info.value)
    assert key in message and str(shape) in message and expected in message


def test_missing_key_raises_naming_it(torchvision_source):
    source = {k: v for k, v in torchvision_source.items() if k != 'features.28.bias'}
    with pytest.raises(KeyError, match='features.28.bias'):
        convert_state_dict(source, 'vgg16-torchvision')


def test_non_float_values_raise(torchvision_source):
    source = dict(torchvision_source, **{'features.0.bias': torch.zeros(64, dtype=torch.int64)})
    with pytest.raises(ValueError, match='features.0.bias.*floating'):
        convert_state_dict(source, 'vgg16-torchvision')


def test_zf_caffe_npz(tmp_path, zf_npz_file):
    src, blobs = zf_npz_file
    checkpoint = convert_imagenet_weights('zf-caffe', src, tmp_path / 'zf.pth')
    assert checkpoint['meta'] == dict(source='zf_caffe_blobs.npz', format='zf-caffe',
                                      input_adapted=False)
    state_dict = checkpoint['state_dict']
    mapping = caffe_to_target(blobs)
    assert set(state_dict) == set(mapping.values())
    for src_key, dst_key in mapping.items():
        expected = torch.from_numpy(blobs[src_key])
        if src_key.startswith('fc7.'):
            expected = expected.reshape(4096, -1).squeeze(1)  # legacy 4-D blobs
        assert state_dict[dst_key].shape == expected.shape, dst_key
        assert torch.equal(state_dict[dst_key], expected), dst_key


def test_zf_caffe_torch_file_with_pycaffe_lists(tmp_path):
    """``torch.save({layer: [weight, bias]})`` of numpy arrays, as pycaffe's net.params lists them,
    with a float64 blob and a conv-style fc6 tensor."""
    blobs = random_arrays(zf_caffe_shapes(), seed=4)
    layers = {name: [blobs[f'{name}.weight'], blobs[f'{name}.bias']] for name in ZF_SHAPES}
    layers['conv2'][0] = layers['conv2'][0].astype(np.float64)  # float32 values, stored as float64
    layers['fc6'][0] = torch.from_numpy(blobs['fc6.weight']).reshape(4096, 256, 6, 6)
    src = tmp_path / 'zf_caffe_blobs.pth'
    torch.save(layers, src)
    state_dict = convert_imagenet_weights('zf-caffe', src, tmp_path / 'zf.pth')['state_dict']
    for src_key, dst_key in caffe_to_target(blobs).items():
        assert state_dict[dst_key].dtype == torch.float32
        assert torch.equal(state_dict[dst_key], torch.from_numpy(blobs[src_key])), dst_key


def test_vgg16_caffe_npz_and_torch_formats(tmp_path):
    blobs = random_arrays(caffe_vgg16_shapes(), seed=5)
    mapping = caffe_to_target(blobs)
    npz_blobs = dict(blobs)
    npz_blobs['fc6.weight'] = blobs['fc6.weight'].reshape(4096, 512, 7, 7)  # conv-style
    npz_blobs['fc7.weight'] = blobs['fc7.weight'].reshape(1, 1, 4096, 4096)  # legacy InnerProduct
    np.savez(tmp_path / 'vgg16.npz', **npz_blobs)
    torch.save({k: torch.from_numpy(v) for k, v in blobs.items()}, tmp_path / 'vgg16_blobs.pth')
    for src in ('vgg16.npz', 'vgg16_blobs.pth'):
        checkpoint = convert_imagenet_weights('vgg16-caffe', tmp_path / src, tmp_path / 'out.pth')
        assert checkpoint['meta']['input_adapted'] is False
        state_dict = checkpoint['state_dict']
        assert set(state_dict) == set(mapping.values())
        for src_key, dst_key in mapping.items():
            assert torch.equal(state_dict[dst_key], torch.from_numpy(blobs[src_key])), (src, dst_key)


def test_converted_file_loads_weights_only(converted_vgg16_file):
    _, dst = converted_vgg16_file
    checkpoint = torch.load(dst, map_location='cpu', weights_only=True)
    assert checkpoint['meta'] == dict(source='vgg16-397923af.pth', format='vgg16-torchvision',
                                      input_adapted=True)
    assert len(checkpoint['state_dict']) == 30
    assert all(t.dtype == torch.float32 for t in checkpoint['state_dict'].values())


def test_load_checkpoint_into_vgg16_backbone(converted_vgg16_file, torchvision_source):
    _, dst = converted_vgg16_file
    state_dict = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    backbone = VGG16()
    load_checkpoint(backbone, str(dst), map_location='cpu', revise_keys=[(r'^backbone\.', '')])
    for name in VGG_CONVS:
        for param in ('weight', 'bias'):
            assert torch.equal(getattr(backbone, name).state_dict()[param],
                               state_dict[f'backbone.{name}.{param}']), name
    assert torch.equal(backbone.conv5_3.weight, torchvision_source['features.28.weight'])


def test_pretrained_init_with_prefix_into_zf_backbone(tmp_path, zf_npz_file):
    src, blobs = zf_npz_file
    dst = tmp_path / 'zf_caffe_layout.pth'
    convert_imagenet_weights('zf-caffe', src, dst)
    backbone = ZFNet()
    PretrainedInit(checkpoint=str(dst), prefix='backbone.', map_location='cpu')(backbone)
    for name in ('conv1', 'conv2', 'conv3', 'conv4', 'conv5'):
        assert torch.equal(getattr(backbone, name).weight, torch.from_numpy(blobs[f'{name}.weight']))
        assert torch.equal(getattr(backbone, name).bias, torch.from_numpy(blobs[f'{name}.bias']))


class _DetectorLike(BaseModule):
    """The key paths of an mmdet two-stage detector: backbone.*, roi_head.bbox_head.*."""

    def __init__(self, init_cfg):
        super().__init__(init_cfg=init_cfg)
        self.backbone = ZFNet()
        self.roi_head = BaseModule()
        self.roi_head.bbox_head = FastRCNNBBoxHead(in_channels=256, roi_feat_size=6, num_classes=20)


def test_detector_pretrained_init_cfg_sets_backbone_and_fc_layers(tmp_path, zf_npz_file):
    src, blobs = zf_npz_file
    dst = tmp_path / 'zf_caffe_layout.pth'
    convert_imagenet_weights('zf-caffe', src, dst)
    model = _DetectorLike(init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()  # children's own init first (Xavier fc6/fc7), then the checkpoint
    assert torch.equal(model.backbone.conv3.weight, torch.from_numpy(blobs['conv3.weight']))
    head = model.roi_head.bbox_head
    assert torch.equal(head.fc6.weight, torch.from_numpy(blobs['fc6.weight']))
    assert torch.equal(head.fc6.bias, torch.from_numpy(blobs['fc6.bias']))
    assert torch.equal(head.fc7.weight.reshape(1, 1, 4096, 4096), torch.from_numpy(blobs['fc7.weight']))
    assert torch.equal(head.fc7.bias, torch.from_numpy(blobs['fc7.bias']).flatten())


def test_wrong_files_raise_and_write_nothing(tmp_path, zf_npz_file):
    text = tmp_path / 'notes.txt'
    text.write_text('not weights')
    dst = tmp_path / 'out.pth'
    with pytest.raises(ValueError, match='notes.txt'):
        convert_imagenet_weights('zf-caffe', text, dst)
    src, _ = zf_npz_file
    with pytest.raises(KeyError, match=r'zf_caffe_blobs\.npz.*features\.0\.weight'):
        convert_imagenet_weights('vgg16-torchvision', src, dst)  # a ZF file as torchvision VGG
    with pytest.raises(FileNotFoundError):
        load_source_weights(tmp_path / 'absent.pth')
    torch.save([1, 2, 3], tmp_path / 'list.pth')
    with pytest.raises(ValueError, match='expected a dict'):
        load_source_weights(tmp_path / 'list.pth')
    assert sorted(os.listdir(tmp_path)) == ['list.pth', 'notes.txt']  # no output, no temp file


def test_failed_conversion_keeps_existing_output(tmp_path, zf_npz_file):
    src, _ = zf_npz_file
    dst = tmp_path / 'zf.pth'
    dst.write_bytes(b'previous')
    with pytest.raises(KeyError):
        convert_imagenet_weights('vgg16-caffe', src, dst)
    assert dst.read_bytes() == b'previous'
    assert os.listdir(tmp_path) == ['zf.pth']


def test_cli_end_to_end(tmp_path):
    # Constant blobs compress to a tiny file; each layer holds its own index to check the mapping.
    shapes = zf_caffe_shapes()
    blobs = {key: np.full(shape, i, dtype=np.float32) for i, (key, shape) in enumerate(shapes.items())}
    src, dst = tmp_path / 'zf.npz', tmp_path / 'zf_caffe_layout.pth'
    np.savez_compressed(src, **blobs)
    assert src.stat().st_size < 2 ** 20
    result = subprocess.run([sys.executable, str(CLI), 'zf-caffe', str(src), str(dst)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert '14 keys' in result.stdout and 'input adapted: False' in result.stdout
    assert 'fc6.{weight,bias} -> roi_head.bbox_head.fc6.{weight,bias}  (4096, 9216)' in result.stdout
    state_dict = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    for src_key, dst_key in caffe_to_target(shapes).items():
        assert torch.all(state_dict[dst_key] == float(blobs[src_key].flat[0])), dst_key


def test_cli_reports_errors_without_writing(tmp_path, zf_npz_file, capsys):
    spec = importlib.util.spec_from_file_location('convert_imagenet_weights_cli', CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    src, _ = zf_npz_file
    dst = tmp_path / 'x.pth'
    assert cli.main(['vgg16-torchvision', str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'features.0.weight' in err
    assert not dst.exists() and os.listdir(tmp_path) == []
    with pytest.raises(SystemExit):
        cli.main(['resnet50', str(src), str(dst)])
