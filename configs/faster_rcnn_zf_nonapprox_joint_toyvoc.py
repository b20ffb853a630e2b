# The demo data and scale with non-approximate joint training: the iterations of
# faster_rcnn_zf_joint_toyvoc.py and the model settings of faster_rcnn_zf_nonapprox_joint_voc.py
# (RoI warping, the detector's loss differentiated w.r.t. the proposal boxes, box gradient x0.1;
# a test keeps the two configs' settings equal).
_base_ = ['./faster_rcnn_zf_joint_toyvoc.py']

model = dict(
    train_mode='non_approximate_joint',
    roi_head=dict(
        type='NonApproximateRoIHead',
        box_grad_from='all',
        box_grad_scale=0.1,
        bbox_roi_extractor=dict(roi_layer=dict(_delete_=True, type='RoIWarp', output_size=6, sampling_ratio=2))))
