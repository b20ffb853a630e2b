# The demo data and scale (faster_rcnn_zf_alternating_toyvoc.py) with approximate joint training
# (py-faster-rcnn end2end, faster_rcnn_zf_joint_voc.py), for tools/paper/compare_training_modes.py: as many
# iterations as the four alternating steps together (300 + 250 + 200 + 250), lr step at 3/4. It keeps
# the paper's lr (0.001) throughout: the demo's 10x lr is safe only where the convs are not trained by
# the detector loss (steps 1, 3, 4); with the whole network training, as in step 2, 0.01 diverges.
_base_ = ['./faster_rcnn_zf_alternating_toyvoc.py']

model = dict(train_mode='joint')
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1000, val_interval=1000)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(accumulative_counts=2)  # Caffe iter_size 2, as the end2end solver
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=1000, milestones=[750], gamma=0.1)]
model_wrapper_cfg = None
# Not the demo's AlternatingTrainingHook: it would switch the model through the 4 steps whatever
# train_mode says (custom_hooks is a list, so this replaces the base's).
custom_hooks = []
