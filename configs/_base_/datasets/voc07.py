# PASCAL VOC 2007 as in the paper (§4.1): train on VOC07 trainval, test on VOC07 test.
# Pipeline of py-faster-rcnn (lib/utils/blob.py, lib/fast_rcnn/config.py); deviations noted inline.
dataset_type = 'PaperVOCDataset'  # mmdet's VOCDataset + py-faster-rcnn name handling + input checks
data_root = 'data/VOCdevkit/'
backend_args = None

# Shorter side 600, longer side at most 1000 (SCALES=(600,), MAX_SIZE=1000), train and test:
# PaperResize is py-faster-rcnn's prep_im_for_blob (one scale factor s for both axes, the rule
# round(s * long) > 1000, the float image resized).
img_scale = (1000, 600)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),  # BGR, like cv2.imread in pfr
    dict(type='LoadAnnotations', with_bbox=True),
    # py-faster-rcnn doubles the training set with a flipped copy of every image (USE_FLIPPED);
    # we flip online with probability 0.5, which shows the same images in expectation. The flip
    # is py-faster-rcnn's (x1' = W - x2 - 1), at the original scale, i.e. before the resize.
    dict(type='PaperRandomFlip', prob=0.5),
    dict(type='PaperResize', scale=img_scale),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='PaperResize', scale=img_scale),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]

# Pipelines of the Fast R-CNN steps of 4-step alternating training: the precomputed proposals of the
# image (LoadProposals; py-faster-rcnn keeps the 2000 it dumped) are resized and flipped with it.
proposal_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadProposals', num_max_proposals=2000),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='ProposalBroadcaster',
        transforms=[dict(type='PaperRandomFlip', prob=0.5), dict(type='PaperResize', scale=img_scale)]),
    dict(type='PackDetInputs')
]
proposal_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadProposals', num_max_proposals=None),
    dict(type='ProposalBroadcaster', transforms=[dict(type='PaperResize', scale=img_scale)]),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]

train_dataloader = dict(
    batch_size=1,  # one image per iteration (pfr IMS_PER_BATCH = 1 for RPN / end2end training)
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),  # pfr ASPECT_GROUPING
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        # Images without any object are skipped (pfr filter_roidb); no minimum gt box size
        # (mmdet's VOC config ignores gt boxes under 32 px; py-faster-rcnn keeps them).
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# VOC07 11-point mAP at IoU > 0.5 with +1 areas, detections rounded as written to the results
# files (py-faster-rcnn voc_eval; difficult objects ignored).
val_evaluator = dict(type='PaperVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
