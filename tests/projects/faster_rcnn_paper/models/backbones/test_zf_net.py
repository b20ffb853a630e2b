import pytest
import torch

from faster_rcnn_paper.models.backbones import ZFNet
from faster_rcnn_paper.models.layers import WithinChannelLRN


def caffe_pool_size(size, kernel=3, stride=2, pad=1):
    """Caffe PoolingLayer::Reshape: ceil, then drop a last window that starts in the padding."""
    import math
    out = int(math.ceil((size + 2 * pad - kernel) / stride)) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out


@pytest.mark.parametrize('size', [(600, 1000), (224, 224), (97, 131)])
def test_output_shape_and_stride(size):
    torch.manual_seed(0)
    model = ZFNet()
    model.init_weights()
    with torch.no_grad():
        (out, ) = model(torch.zeros(1, 3, *size))
    expected = []
    for s in size:
        s = (s + 2 * 3 - 7) // 2 + 1  # conv1 7x7 /2 pad 3
        s = caffe_pool_size(s)
        s = (s + 2 * 2 - 5) // 2 + 1  # conv2 5x5 /2 pad 2
        s = caffe_pool_size(s)
        expected.append(s)
    assert out.shape == (1, 256, *expected)
    assert ZFNet.stride == 16 and ZFNet.out_channels == 256


def test_layout_matches_py_faster_rcnn():
    model = ZFNet()
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters() if n.endswith('weight')}
    assert shapes == {
        'conv1.weight': (96, 3, 7, 7), 'conv2.weight': (256, 96, 5, 5), 'conv3.weight': (384, 256, 3, 3),
        'conv4.weight': (384, 384, 3, 3), 'conv5.weight': (256, 384, 3, 3)}
    assert isinstance(model.norm1, WithinChannelLRN) and model.pool1.ceil_mode
    assert all(p.requires_grad for p in model.parameters())  # pfr trains all ZF convs


def test_frozen_stages():
    model = ZFNet(frozen_stages=2)
    frozen = {n.split('.')[0] for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {'conv1', 'conv2'}
    model(torch.randn(1, 3, 64, 64))[0].sum().backward()
    assert model.conv1.weight.grad is None and model.conv3.weight.grad is not None


def test_channels_last_trunk_computes_the_same():
    """The channels-last trunk (default) gives the default-layout trunk's outputs and gradients
    (float rounding), and returns a contiguous map."""
    torch.manual_seed(0)
    fast = ZFNet()
    fast.init_weights()
    plain = ZFNet(channels_last=False)
    plain.load_state_dict(fast.state_dict())
    images = torch.randn(2, 3, 97, 131) * 50
    outputs, grads, layouts = [], [], []
    for model in (fast, plain):
        hook = model.conv2.register_forward_hook(
            lambda module, args, out: layouts.append(out.is_contiguous(memory_format=torch.channels_last)))
        (out, ) = model(images)
        hook.remove()
        out.sum().backward()
        outputs.append(out)
        grads.append(model.conv1.weight.grad)
    assert layouts == [True, False]
    assert outputs[0].is_contiguous() and outputs[0].shape == outputs[1].shape
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-4 * outputs[1].abs().max().item())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-3, atol=1e-4 * grads[1].abs().max().item())
