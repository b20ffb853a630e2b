import pytest
import torch

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.models.layers import CaffeDropout
from mmdet.registry import MODELS


def build(**kwargs):
    cfg = dict(type='FastRCNNBBoxHead', in_channels=16, roi_feat_size=7, fc_out_channels=64,
               num_classes=20)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_layers_and_outputs():
    torch.manual_seed(0)
    head = build()
    assert head.fc6.in_features == 16 * 49 and head.fc7.out_features == 64
    assert head.fc_cls.out_features == 21 and head.fc_reg.out_features == 80  # class-specific
    cls, reg = head(torch.randn(5, 16, 7, 7))
    assert cls.shape == (5, 21) and reg.shape == (5, 80)
    assert isinstance(head.drop6, torch.nn.Dropout) and head.drop6.p == 0.5


def test_paper_initialisation():
    torch.manual_seed(0)
    head = build(in_channels=64, fc_out_channels=1024)
    assert head.fc_cls.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert head.fc_reg.weight.std().item() == pytest.approx(0.001, rel=0.1)
    assert head.fc_cls.bias.abs().sum() == 0 and head.fc_reg.bias.abs().sum() == 0


def test_caffe_dropout_option_and_eval_determinism():
    head = build(caffe_dropout=True)
    assert isinstance(head.drop6, CaffeDropout) and not head.drop6.scale_train
    head.eval()
    x = torch.randn(3, 16, 7, 7)
    assert torch.equal(head(x)[0], head(x)[0])
