# ZF Faster R-CNN, approximate joint training (py-faster-rcnn end2end) on VOC07 trainval.
_base_ = [
    './_base_/models/faster_rcnn_zf.py', './_base_/datasets/voc07.py',
    './_base_/schedules/joint_voc07.py', './_base_/default_runtime.py'
]
