# VGG-16 Faster R-CNN, joint training on MS COCO as in the paper's §4.2: 80 classes, anchors of
# 4 scales (adding 64², "mainly motivated by handling small objects"), background RoIs with IoU in
# [0, 0.5) (already our VOC setting), lr 0.003 / 0.0003 over 240k + 80k iterations of 8 images.
_base_ = [
    './_base_/models/faster_rcnn_vgg16_coco.py', './_base_/datasets/coco.py',
    './_base_/schedules/joint_coco.py', './_base_/default_runtime.py'
]
