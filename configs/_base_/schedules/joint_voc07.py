# Approximate joint training (§3.2 (ii); py-faster-rcnn end2end) on VOC07: SGD with lr 0.001,
# momentum 0.9, weight decay 0.0005 (§3.1.3); 70k updates with the lr divided by 10 after 50k,
# each update averaging the gradients of two one-image passes (Caffe iter_size 2).
# One loop iteration here is one image, so the counts are doubled: 140k iterations, step at 100k.
# --auto-scale-lr: the lr above is for 1 image per loop iteration on one GPU (pfr); mmengine's rule
# compares processes x train_dataloader.batch_size with it (the accumulation stays as it is).
auto_scale_lr = dict(enable=False, base_batch_size=1)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=140000, val_interval=140000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    # fused: PyTorch's one-kernel SGD update, the per-tensor loop's formula (equal up to float32
    # rounding, tests/configs) and ~5x faster on CPU for fc6/fc7's 55 M weights (0.27 -> 0.06 s).
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0005, fused=True),
    accumulative_counts=2,  # Caffe iter_size 2
    # Caffe lr_mult 2 on biases (weight decay on biases as in Caffe: decay_mult defaults to 1).
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=1.0))

param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=140000, milestones=[100000], gamma=0.1)
]
