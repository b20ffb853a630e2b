# The demo data and scale with non-approximate joint training (faster_rcnn_zf_nonapprox_joint_voc.py):
# the iterations of faster_rcnn_zf_joint_toyvoc.py, RoI warping instead of RoI pooling, and the
# detector's loss differentiated w.r.t. the proposal boxes.
_base_ = ['./faster_rcnn_zf_joint_toyvoc.py']

model = dict(
    train_mode='non_approximate_joint',
    roi_head=dict(
        type='NonApproximateRoIHead',
        bbox_roi_extractor=dict(roi_layer=dict(_delete_=True, type='RoIWarp', output_size=6, sampling_ratio=2))))
