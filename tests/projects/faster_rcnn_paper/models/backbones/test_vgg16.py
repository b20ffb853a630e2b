import pytest
import torch

from faster_rcnn_paper.models.backbones import VGG16


@pytest.fixture(scope='module')
def vgg():
    torch.manual_seed(0)
    model = VGG16()
    model.init_weights()
    return model


def test_paper_input_gives_38x63_map(vgg):
    # §3.1 / DESIGN: a 600x1000 image gives a 38x63 conv5_3 map (stride 16, Caffe ceil-mode pooling).
    with torch.no_grad():
        (out, ) = vgg(torch.zeros(1, 3, 600, 1000))
    assert out.shape == (1, 512, 38, 63)


@pytest.mark.parametrize('size,expected', [((33, 47), (3, 3)), ((16, 16), (1, 1)), ((17, 31), (2, 2))])
def test_ceil_mode_sizes(vgg, size, expected):
    # Caffe pooling rounds up: ceil(ceil(ceil(ceil(H/2)/2)/2)/2).
    with torch.no_grad():
        (out, ) = vgg(torch.zeros(1, 3, *size))
    assert out.shape[-2:] == expected


def test_layout_and_frozen_stages(vgg):
    names = [n for n, _ in vgg.named_children() if n.startswith('conv')]
    assert names == ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv3_3',
                     'conv4_1', 'conv4_2', 'conv4_3', 'conv5_1', 'conv5_2', 'conv5_3']
    frozen = {n.split('.')[0] for n, p in vgg.named_parameters() if not p.requires_grad}
    assert frozen == {'conv1_1', 'conv1_2', 'conv2_1', 'conv2_2'}


def test_frozen_layers_get_no_gradient_and_do_not_change():
    torch.manual_seed(0)
    model = VGG16(frozen_stages=2)
    model.init_weights()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.0005)
    model(torch.randn(1, 3, 32, 32))[0].sum().backward()
    opt.step()
    for name, param in model.named_parameters():
        if name.startswith(('conv1_', 'conv2_')):
            assert param.grad is None and torch.equal(param, before[name]), name
        else:
            assert param.grad is not None and not torch.equal(param, before[name]), name


def test_bad_frozen_stages():
    with pytest.raises(ValueError, match='frozen_stages'):
        VGG16(frozen_stages=6)
