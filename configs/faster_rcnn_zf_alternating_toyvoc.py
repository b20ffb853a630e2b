# The offline demo (`make demo`): the paper's ZF 4-step alternating training (faster_rcnn_zf_voc.py),
# unchanged except for the data scale and the number of iterations, on the generated toy VOC data
# (tools/make_toy_voc.py: 5 shape classes) so that it trains and evaluates on 2 CPU cores in minutes.
# The "ImageNet" weights are a stand-in trained on generated crops (tools/pretrain_toy_backbone.py),
# loaded through the same init_cfg path as real converted ImageNet weights.
_base_ = ['./faster_rcnn_zf_voc.py']

toy_root = 'data/toy/'
data_root = toy_root + 'VOCdevkit/'
classes = ('circle', 'square', 'triangle', 'bar', 'pillar')  # faster_rcnn_paper.datasets.TOY_CLASSES
backend_args = None
# Toy images are 160-240 px; shown at a shorter side of 320 (instead of 600), objects are 64-144 px,
# the range of the paper's smaller anchors.
img_scale = (533, 320)

model = dict(
    init_cfg=dict(type='Pretrained', checkpoint=toy_root + 'stand_in_imagenet_zf.pth'),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
proposal_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadProposals', num_max_proposals=2000),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ProposalBroadcaster',
         transforms=[dict(type='Resize', scale=img_scale, keep_ratio=True), dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackDetInputs')
]
proposal_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadProposals', num_max_proposals=None),
    dict(type='ProposalBroadcaster', transforms=[dict(type='Resize', scale=img_scale, keep_ratio=True)]),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader

# Iterations shrunk from 80k / 40k / 80k / 40k, lr steps at the same fraction (3/4) of each step.
rpn_lr_schedule = [dict(type='MultiStepLR', by_epoch=False, milestones=[450], gamma=0.1)]
fast_rcnn_lr_schedule = [dict(type='MultiStepLR', by_epoch=False, milestones=[225], gamma=0.1)]
train_cfg = dict(
    stages=dict(
        step1_rpn=dict(max_iters=600, param_scheduler=rpn_lr_schedule),
        step2_fast_rcnn=dict(max_iters=300, param_scheduler=fast_rcnn_lr_schedule),
        step3_rpn=dict(max_iters=600, param_scheduler=rpn_lr_schedule),
        step4_fast_rcnn=dict(max_iters=300, param_scheduler=fast_rcnn_lr_schedule)))
param_scheduler = rpn_lr_schedule

default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=300))
log_processor = dict(window_size=20)
