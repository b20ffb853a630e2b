# 4-step alternating training (§3.2) with py-faster-rcnn's schedule (train_faster_rcnn_alt_opt.py
# and the models/pascal_voc/*/faster_rcnn_alt_opt solvers). Every step: SGD, lr 0.001, momentum 0.9,
# weight decay 0.0005 (§3.1.3), lr x 0.1 at the step; RPN steps 80k iterations with 1 image, step at
# 60k; Fast R-CNN steps 40k iterations with 2 images (64 RoIs each), step at 30k.
# The steps run as AlternatingTrainingHook on MMEngine's stock IterBasedTrainLoop, whose max_iters
# must be the sum of the stages' (the hook refuses another), so a stage changes with two options, e.g.
#   --cfg-options custom_hooks.0.stages.step1_rpn.max_iters=100 train_cfg.max_iters=160100
# or, in a config inheriting this one (OpenMMLab's "modify a base variable" form):
#   custom_hooks = _base_.custom_hooks
#   custom_hooks[0].stages.step1_rpn.max_iters = 100
#   train_cfg = dict(max_iters=160100)
rpn_images = 1  # images per RPN iteration (pfr TRAIN.IMS_PER_BATCH = 1 in the RPN steps)
fast_rcnn_images = 2  # images per Fast R-CNN iteration (pfr TRAIN.IMS_PER_BATCH = 2)
rpn_lr_schedule = [dict(type='MultiStepLR', by_epoch=False, milestones=[60000], gamma=0.1)]
fast_rcnn_lr_schedule = [dict(type='MultiStepLR', by_epoch=False, milestones=[30000], gamma=0.1)]
fast_rcnn_rois = dict(rcnn=dict(sampler=dict(num=64)))  # 128 RoIs per batch of 2 images

custom_hooks = [
    dict(
        type='AlternatingTrainingHook',
        stages=dict(  # name -> step, in execution order
            # Step 1: RPN, initialised from ImageNet.
            step1_rpn=dict(
                mode='rpn', max_iters=80000, batch_size=rpn_images, param_scheduler=rpn_lr_schedule),
            # Step 2: Fast R-CNN from ImageNet (separate convs: restore them) on step-1 proposals.
            # The RPN layers go back to their initial weights too, which step 3 starts from (pfr).
            step2_fast_rcnn=dict(
                mode='fast_rcnn',
                max_iters=40000,
                batch_size=fast_rcnn_images,
                base_batch_size=fast_rcnn_images,  # the lr is for this batch (--auto-scale-lr)
                param_scheduler=fast_rcnn_lr_schedule,
                reset=['backbone', 'rpn_head'],
                model_train_cfg=fast_rcnn_rois),
            # Step 3: RPN layers only, on the step-2 convs, now shared and frozen.
            step3_rpn=dict(
                mode='rpn',
                max_iters=80000,
                batch_size=rpn_images,
                param_scheduler=rpn_lr_schedule,
                frozen=['backbone']),
            # Step 4: Fast R-CNN layers only (fc6/fc7 from step 2, fresh classifiers), frozen
            # convs, on step-3 proposals. Final model: shared convs + step-3 RPN + step-4 detector.
            step4_fast_rcnn=dict(
                mode='fast_rcnn',
                max_iters=40000,
                batch_size=fast_rcnn_images,
                base_batch_size=fast_rcnn_images,
                param_scheduler=fast_rcnn_lr_schedule,
                frozen=['backbone'],
                reset=['roi_head.bbox_head.fc_cls', 'roi_head.bbox_head.fc_reg'],
                model_train_cfg=fast_rcnn_rois),
        ),
        # Offline proposals for the Fast R-CNN steps (pfr rpn_generate): no pre-NMS cap, NMS 0.7,
        # top 2000, min size 16 px; val-set proposals use the model's test_cfg.rpn.
        offline_proposal_cfg=dict(
            nms_pre=-1, max_per_img=2000, nms=dict(type='nms', iou_threshold=0.7, offset=1),
            min_bbox_size=16))
]
# max_iters: the sum of the stages (80k + 40k + 80k + 40k); the loop's own validation is off (each
# Fast R-CNN step evaluates with its proposals, `evaluate`).
train_cfg = dict(type='IterBasedTrainLoop', max_iters=240000, val_interval=10**9)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# --auto-scale-lr scales each stage's lr by processes x its batch_size / its base_batch_size
# (default: this one, the RPN steps' batch).
auto_scale_lr = dict(enable=False, base_batch_size=rpn_images)

optim_wrapper = dict(
    type='OptimWrapper',
    # fused: PyTorch's one-kernel SGD update, the per-tensor loop's formula (equal up to float32
    # rounding, tests/configs) and ~5x faster on CPU for fc6/fc7's 55 M weights (0.27 -> 0.06 s).
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0005, fused=True),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=1.0))  # Caffe lr_mult 2 on biases
# Each step builds its own lr schedule (stages.<name>.param_scheduler).
param_scheduler = None
# Parameters a step freezes or does not use get no gradient: DDP must allow that.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
