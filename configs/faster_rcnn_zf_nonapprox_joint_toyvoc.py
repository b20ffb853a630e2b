# The demo data and scale with non-approximate joint training: the iterations of
# faster_rcnn_zf_joint_toyvoc.py and the model settings of faster_rcnn_zf_nonapprox_joint_voc.py
# (_base_/models/non_approximate_joint.py: RoI warping, the detector's loss differentiated w.r.t.
# the proposal boxes, box gradient x0.1).
_base_ = ['./faster_rcnn_zf_joint_toyvoc.py', './_base_/models/non_approximate_joint.py']

model = _base_.non_approximate_joint_model
