# The paper's headline setting: VGG-16 Faster R-CNN with 4-step alternating training on VOC07
# trainval, tested on VOC07 test (paper Table 3: 69.9 % mAP with shared convs).
_base_ = [
    './_base_/models/faster_rcnn_vgg16.py', './_base_/datasets/voc07.py',
    './_base_/schedules/alternating_voc07.py', './_base_/default_runtime.py'
]
