# ZF Faster R-CNN with 4-step alternating training on VOC07 trainval, tested on VOC07 test
# (paper Table 2: 59.9 % mAP).
_base_ = [
    './_base_/models/faster_rcnn_zf.py', './_base_/datasets/voc07.py',
    './_base_/schedules/alternating_voc07.py', './_base_/default_runtime.py'
]
