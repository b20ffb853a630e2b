# 4-step alternating training (§3.2) on COCO with the paper's §4.2 schedule: "The RPN step and Fast
# R-CNN step are both trained for 240k iterations with a learning rate of 0.003 and then for 80k
# iterations with 0.0003", on 8 GPUs: mini-batches of 8 images in the RPN steps and 16 in the Fast
# R-CNN steps (1 and 2 per GPU, as in the VOC schedule; launch with tools/dist_train.sh CONFIG 8).
_base_ = './alternating_voc07.py'

coco_lr = dict(optimizer=dict(lr=0.003))
coco_lr_schedule = [dict(type='MultiStepLR', by_epoch=False, milestones=[240000], gamma=0.1)]
rpn_gpus_images = 8  # the batches the lr is for (--auto-scale-lr)
fast_rcnn_gpus_images = 16
custom_hooks = _base_.custom_hooks
custom_hooks[0].stages.step1_rpn.update(max_iters=320000, param_scheduler=coco_lr_schedule, optim_wrapper=coco_lr,
                                        base_batch_size=rpn_gpus_images)
custom_hooks[0].stages.step2_fast_rcnn.update(max_iters=320000, param_scheduler=coco_lr_schedule,
                                              optim_wrapper=coco_lr, base_batch_size=fast_rcnn_gpus_images)
custom_hooks[0].stages.step3_rpn.update(max_iters=320000, param_scheduler=coco_lr_schedule, optim_wrapper=coco_lr,
                                        base_batch_size=rpn_gpus_images)
custom_hooks[0].stages.step4_fast_rcnn.update(max_iters=320000, param_scheduler=coco_lr_schedule,
                                              optim_wrapper=coco_lr, base_batch_size=fast_rcnn_gpus_images)
train_cfg = dict(max_iters=4 * 320000)  # the sum of the stages (AlternatingTrainingHook refuses another)
auto_scale_lr = dict(enable=False, base_batch_size=rpn_gpus_images)
