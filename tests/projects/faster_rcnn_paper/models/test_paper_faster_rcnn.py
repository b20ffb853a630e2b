import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import faster_rcnn_paper  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from tests.tiny import REPO


@pytest.fixture(scope='module')
def model():
    cfg = Config.fromfile(f'{REPO}/configs/faster_rcnn_zf_joint_voc.py')
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg.model.init_cfg = None  # no ImageNet weights in tests
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def batch(model, with_proposals):
    img = torch.randint(0, 255, (3, 224, 288), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(224, 288), ori_shape=(224, 288),
                                         scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 20, 150, 160]]), labels=torch.tensor([4]))
    if with_proposals:
        sample.proposals = InstanceData(bboxes=torch.tensor([[12.0, 18, 140, 150], [100, 100, 250, 200]]),
                                        scores=torch.tensor([0.9, 0.5]))
    return model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)


@pytest.mark.parametrize('mode,keys', [('joint', {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'}),
                                       ('rpn', {'loss_rpn_cls', 'loss_rpn_bbox'}),
                                       ('fast_rcnn', {'loss_cls', 'loss_bbox', 'acc'})])
def test_train_modes_compute_their_losses(model, mode, keys):
    model.train_mode = mode
    data = batch(model, with_proposals=True)
    losses = model(**data, mode='loss')
    assert set(losses) == keys
    if mode == 'fast_rcnn':  # the sample's own proposals are left intact
        assert data['data_samples'][0].proposals.bboxes.shape == (2, 4)


def test_fast_rcnn_mode_needs_proposals_and_bad_mode(model):
    model.train_mode = 'fast_rcnn'
    with pytest.raises(ValueError, match='precomputed proposals'):
        model(**batch(model, with_proposals=False), mode='loss')
    with pytest.raises(ValueError, match='train_mode must be one of'):
        model.train_mode = 'end2end'
    model.train_mode = 'joint'


def test_propose_returns_sorted_proposals_in_original_coordinates(model):
    data = batch(model, with_proposals=False)
    data['data_samples'][0].set_metainfo(dict(scale_factor=(2.0, 2.0)))
    cfg = dict(nms_pre=-1, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7, offset=1), min_bbox_size=0)
    (props, ) = model.propose(data['inputs'], data['data_samples'], cfg=cfg)
    assert 0 < len(props) <= 50
    assert (props.scores[:-1] >= props.scores[1:]).all()
    assert props.bboxes[:, 2].max() <= 288 / 2 and props.bboxes[:, 3].max() <= 224 / 2


def test_no_foreground_and_degenerate_proposals_give_finite_losses(model):
    model.train_mode = 'joint'
    data = batch(model, with_proposals=True)
    sample = data['data_samples'][0]
    sample.gt_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    model.train_mode = 'fast_rcnn'
    data = batch(model, with_proposals=True)
    # zero-size, inverted and out-of-image proposals
    data['data_samples'][0].proposals = InstanceData(
        bboxes=torch.tensor([[5.0, 5, 5, 5], [50, 50, 10, 10], [-500, -500, -400, -400], [1e6, 1e6, 2e6, 2e6]]),
        scores=torch.ones(4))
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(loss)
    model.train_mode = 'joint'


def test_non_finite_loss_stops_before_the_update(model):
    from mmengine.optim import OptimWrapper
    model.train_mode = 'joint'
    data = batch(model, with_proposals=False)
    data['inputs'][0, 0, 0, 0] = float('nan')
    data['data_samples'][0].set_metainfo(dict(img_path='broken.jpg'))
    before = model.backbone.conv1.weight.detach().clone()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(FloatingPointError, match=r"non-finite training loss .*broken\.jpg"):
        model.train_step(dict(inputs=[img for img in data['inputs']], data_samples=data['data_samples']), wrapper)
    assert torch.equal(model.backbone.conv1.weight, before)


@pytest.mark.parametrize('config,expect_grad', [('faster_rcnn_zf_nonapprox_joint_voc.py', True),
                                                ('faster_rcnn_zf_joint_voc.py', False)])
def test_detector_loss_reaches_rpn_regression_only_in_non_approximate_mode(config, expect_grad):
    """§3.2 (iii): through RoI warping, the detector's loss trains the RPN's box regression; in
    approximate joint training proposals are constants and it does not."""
    cfg = Config.fromfile(f'{REPO}/configs/{config}')
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg.model.init_cfg = None  # no ImageNet weights in tests
    model = MODELS.build(cfg.model)
    model.init_weights()
    losses = model(**batch(model, with_proposals=False), mode='loss')
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    grad = model.rpn_head.rpn_reg.weight.grad
    if expect_grad:
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
        assert type(model.roi_head.bbox_roi_extractor.roi_layers[0]).__name__ == 'RoIWarp'
    else:
        assert grad is None or grad.abs().sum() == 0


def test_set_stage_rebuilds_assigner_and_sampler_from_the_models_train_cfg():
    cfg = Config.fromfile(f'{REPO}/configs/faster_rcnn_zf_voc.py')
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    assert model.roi_head.bbox_sampler.num == 128  # the model's train_cfg (joint / end2end)
    unused = model.set_stage('fast_rcnn', dict(rcnn=dict(sampler=dict(num=64))))
    assert unused == ['rpn_head'] and model.train_mode == 'fast_rcnn'
    assert model.roi_head.bbox_sampler.num == 64 and model.train_cfg.rcnn.sampler.num == 64
    # the next stage starts again from the constructor's train_cfg
    assert model.set_stage('rpn', dict(rpn=dict(sampler=dict(num=128)))) == ['roi_head']
    assert model.train_mode == 'rpn' and model.rpn_head.sampler.num == 128
    assert model.roi_head.bbox_sampler.num == 128 and model.train_cfg.rcnn.sampler.num == 128
    with pytest.raises(ValueError, match='set_stage: mode'):
        model.set_stage('joint')
