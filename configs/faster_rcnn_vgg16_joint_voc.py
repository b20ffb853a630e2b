# VGG-16 Faster R-CNN, approximate joint training (py-faster-rcnn end2end) on VOC07 trainval.
# Paper (Table 3 / py-faster-rcnn README): ~69-70 % mAP on VOC07 test with ImageNet weights.
_base_ = [
    './_base_/models/faster_rcnn_vgg16.py', './_base_/datasets/voc07.py',
    './_base_/schedules/joint_voc07.py', './_base_/default_runtime.py'
]
