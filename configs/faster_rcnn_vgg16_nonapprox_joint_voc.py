# VGG-16 Faster R-CNN, non-approximate joint training (§3.2 option iii) on VOC07: see
# faster_rcnn_zf_nonapprox_joint_voc.py; 7x7 RoI warping on conv5_3.
_base_ = ['./faster_rcnn_vgg16_joint_voc.py', './_base_/models/non_approximate_joint.py']

model = _base_.non_approximate_joint_model
