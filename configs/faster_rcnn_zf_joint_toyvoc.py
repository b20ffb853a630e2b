# The demo data and scale (faster_rcnn_zf_alternating_toyvoc.py) with approximate joint training
# (py-faster-rcnn end2end, faster_rcnn_zf_joint_voc.py), for tools/compare_training_modes.py: as many
# iterations as the four alternating steps together (700 + 250 + 700 + 250), lr step at 3/4.
_base_ = ['./faster_rcnn_zf_alternating_toyvoc.py']

model = dict(train_mode='joint')
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1900, val_interval=1900)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(accumulative_counts=2)  # Caffe iter_size 2, as the end2end solver
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=1900, milestones=[1425], gamma=0.1)]
model_wrapper_cfg = None
