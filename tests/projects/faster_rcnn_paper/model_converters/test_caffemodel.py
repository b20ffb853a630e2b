"""Tests of the .caffemodel reader and of converting py-faster-rcnn's Caffe models with it.

The files are written by tests/caffemodel_writer.py (protobuf wire format by hand, Caffe's field
numbers), in both of Caffe's layer styles (``layer`` / V1 ``layers``) and both blob shape styles
(``shape`` / legacy num, channels, height, width).
"""
import numpy as np
import pytest
import torch
from mmengine.model.weight_init import PretrainedInit

from faster_rcnn_paper.model_converters.caffemodel import read_caffemodel
from faster_rcnn_paper.model_converters.imagenet_weights import (convert_imagenet_weights,
                                                                 convert_state_dict)
from faster_rcnn_paper.models.backbones import VGG16, ZFNet
from tests.caffemodel_writer import write_caffemodel

from .test_imagenet_weights import (HEAD, VGG_CONVS, ZF_SHAPES, _DetectorLike, caffe_vgg16_shapes,
                                    random_arrays)


def small_blobs(seed):
    """VGG-16 layer names with small blobs of the ranks Caffe uses (the reader is shape-agnostic)."""
    rng = np.random.default_rng(seed)
    return {
        'conv1_1': [rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
                    rng.standard_normal(4).astype(np.float32)],
        'conv1_2': [rng.standard_normal((5, 4, 3, 3)).astype(np.float32),
                    rng.standard_normal(5).astype(np.float32)],
        'fc6': [rng.standard_normal((6, 20)).astype(np.float32), rng.standard_normal(6).astype(np.float32)],
    }


@pytest.mark.parametrize('v1', [False, True], ids=['layer', 'V1 layers'])
@pytest.mark.parametrize('legacy_dims', [False, True], ids=['shape', 'num-channels-height-width'])
def test_reads_every_blob_in_both_field_styles(tmp_path, v1, legacy_dims):
    blobs = small_blobs(seed=0)
    path = tmp_path / 'net.caffemodel'
    write_caffemodel(path, blobs, v1=v1, legacy_dims=legacy_dims)
    read = read_caffemodel(path)
    assert list(read) == list(blobs)  # file order; the parameter-free relu1 is skipped
    for name, arrays in blobs.items():
        assert len(read[name]) == len(arrays)
        for got, expected in zip(read[name], arrays):
            expected_shape = (1, ) * (4 - expected.ndim) + expected.shape if legacy_dims else expected.shape
            assert got.dtype == np.float32 and got.shape == expected_shape
            assert np.array_equal(got.reshape(expected.shape), expected), name


def test_reads_double_data(tmp_path):
    blobs = {'conv1': [np.array([[0.1, -2.5], [3.0, 1e-8]])]}
    write_caffemodel(tmp_path / 'd.caffemodel', blobs, double=True)
    got = read_caffemodel(tmp_path / 'd.caffemodel')['conv1'][0]
    assert got.dtype == np.float32
    assert np.array_equal(got, blobs['conv1'][0].astype(np.float32))


def test_bad_files_raise_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_caffemodel(tmp_path / 'absent.caffemodel')
    garbage = tmp_path / 'garbage.caffemodel'
    garbage.write_bytes(b'\xff' * 64)
    with pytest.raises(ValueError, match='garbage.caffemodel.*not a Caffe model'):
        read_caffemodel(garbage)
    prototxt = tmp_path / 'deploy.caffemodel'
    prototxt.write_bytes(b'')  # parses as an empty NetParameter
    with pytest.raises(ValueError, match='no layer with parameter blobs'):
        read_caffemodel(prototxt)


def test_value_count_must_match_the_shape(tmp_path):
    path = tmp_path / 'short.caffemodel'
    write_caffemodel(path, {'conv1': [np.zeros((2, 3), np.float32)]})
    data = bytearray(path.read_bytes())
    # dims (2, 3) -> (2, 4): the shape is "\x3a\x02\x0a\x02\x02\x03" (field 7, field 1 packed).
    index = data.index(b'\x0a\x02\x02\x03')
    data[index + 3] = 4
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"layer 'conv1', blob 0: 6 values for a blob of shape \(2, 4\)"):
        read_caffemodel(path)


@pytest.fixture(scope='module')
def zf_v1_caffemodel(tmp_path_factory):
    """py-faster-rcnn's ZF.v2.caffemodel layout, the legacy way: V1 ``layers`` with 4-D blobs."""
    arrays = random_arrays({f'{n}.{p}': s for n, shape in ZF_SHAPES.items()
                            for p, s in (('weight', shape), ('bias', shape[:1]))}, seed=7)
    layers = {name: [arrays[f'{name}.weight'], arrays[f'{name}.bias']] for name in ZF_SHAPES}
    path = tmp_path_factory.mktemp('zf') / 'ZF.v2.caffemodel'
    write_caffemodel(path, layers, v1=True, legacy_dims=True)
    return path, arrays


def test_zf_caffemodel_converts_to_its_arrays_and_loads(tmp_path, zf_v1_caffemodel):
    src, arrays = zf_v1_caffemodel
    dst = tmp_path / 'zf_caffe_layout.pth'
    checkpoint = convert_imagenet_weights('zf-caffe', src, dst)
    assert checkpoint['meta'] == dict(source='ZF.v2.caffemodel', format='zf-caffe', input_adapted=False)
    state_dict = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    expected_keys = {f'{HEAD if n.startswith("fc") else "backbone"}.{n}.{p}'
                     for n in ZF_SHAPES if n != 'fc8' for p in ('weight', 'bias')}
    assert set(state_dict) == expected_keys
    for key, tensor in state_dict.items():
        source = arrays[key.split('.', 1)[1] if key.startswith('backbone') else key[len(HEAD) + 1:]]
        assert torch.equal(tensor, torch.from_numpy(source)), key

    backbone = ZFNet()
    PretrainedInit(checkpoint=str(dst), prefix='backbone.', map_location='cpu')(backbone)
    for name in ('conv1', 'conv2', 'conv3', 'conv4', 'conv5'):
        assert torch.equal(getattr(backbone, name).weight, torch.from_numpy(arrays[f'{name}.weight']))
    model = _DetectorLike(init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    assert torch.equal(model.roi_head.bbox_head.fc6.weight, torch.from_numpy(arrays['fc6.weight']))
    assert torch.equal(model.roi_head.bbox_head.fc7.bias, torch.from_numpy(arrays['fc7.bias']))


def test_vgg16_caffemodel_layers_load_into_the_backbone(tmp_path):
    """VGG-16's 13 conv layers from a .caffemodel (current ``layer`` style); fc6 / fc7 (a full
    VGG16.v2.caffemodel is ~550 MB) come from arrays in memory."""
    arrays = random_arrays(caffe_vgg16_shapes(), seed=8)
    path = tmp_path / 'VGG16_convs.caffemodel'
    write_caffemodel(path, {n: [arrays[f'{n}.weight'], arrays[f'{n}.bias']] for n in VGG_CONVS})
    read = read_caffemodel(path)
    source = {f'{n}.{p}': blob for n, blobs in read.items() for p, blob in zip(('weight', 'bias'), blobs)}
    source.update({k: v for k, v in arrays.items() if k.startswith(('fc6', 'fc7'))})
    converted = convert_state_dict(source, 'vgg16-caffe')
    backbone = VGG16()
    backbone.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items()
                              if k.startswith('backbone.')})
    for name in VGG_CONVS:
        assert torch.equal(getattr(backbone, name).weight, torch.from_numpy(arrays[f'{name}.weight'])), name
        assert torch.equal(getattr(backbone, name).bias, torch.from_numpy(arrays[f'{name}.bias'])), name
