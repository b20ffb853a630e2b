# VGG-16 Faster R-CNN, 4-step alternating training on VOC07+12 trainval, tested on VOC07 test
# (paper Table 3: 73.2 % mAP). Same steps and schedule as the VOC07 setting.
_base_ = [
    './_base_/models/faster_rcnn_vgg16.py', './_base_/datasets/voc0712.py',
    './_base_/schedules/alternating_voc07.py', './_base_/default_runtime.py'
]
