# VGG-16 Faster R-CNN, approximate joint training on VOC07+12 trainval, tested on VOC07 test.
# The paper gives no separate joint-training schedule for 07+12; the VOC07 one is kept.
_base_ = [
    './_base_/models/faster_rcnn_vgg16.py', './_base_/datasets/voc0712.py',
    './_base_/schedules/joint_voc07.py', './_base_/default_runtime.py'
]
