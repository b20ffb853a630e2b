# VGG-16 Faster R-CNN, non-approximate joint training (§3.2 option iii) on VOC07: see
# faster_rcnn_zf_nonapprox_joint_voc.py; 7x7 RoI warping on conv5_3.
_base_ = ['./faster_rcnn_vgg16_joint_voc.py']

model = dict(
    train_mode='non_approximate_joint',
    roi_head=dict(
        type='NonApproximateRoIHead',
        # box gradient: the choice of faster_rcnn_zf_nonapprox_joint_voc.py (measured there)
        box_grad_from='all',
        box_grad_scale=0.1,
        bbox_roi_extractor=dict(roi_layer=dict(_delete_=True, type='RoIWarp', output_size=7, sampling_ratio=2))))
