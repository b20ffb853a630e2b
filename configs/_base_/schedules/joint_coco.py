# Joint training on COCO as in the paper's §4.2: lr 0.003 for 240k iterations, then 0.0003 for 80k,
# with an effective mini-batch of 8 images (8 GPUs x 1 image; launch with tools/dist_train.sh).
_base_ = './joint_voc07.py'

train_cfg = dict(max_iters=320000, val_interval=320000)
optim_wrapper = dict(optimizer=dict(lr=0.003), accumulative_counts=1)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=320000, milestones=[240000], gamma=0.1)
]
# The lr above is for 8 images per step; mmdet scales it linearly when --auto-scale-lr is given.
auto_scale_lr = dict(enable=False, base_batch_size=8)
