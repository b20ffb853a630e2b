# ZF Faster R-CNN, non-approximate joint training (§3.2 option iii) on VOC07: as the approximate
# joint setting (faster_rcnn_zf_joint_voc.py) but the detector's loss is also differentiated w.r.t.
# the proposal boxes (RoI warping, box gradient x0.1: _base_/models/non_approximate_joint.py).
_base_ = ['./faster_rcnn_zf_joint_voc.py', './_base_/models/non_approximate_joint.py']

model = _base_.non_approximate_joint_model
