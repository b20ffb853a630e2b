# VGG-16 Faster R-CNN with 4-step alternating training on MS COCO (§4.2): the model and data of
# faster_rcnn_vgg16_joint_coco.py (80 classes, anchors of 4 scales), the paper's COCO step schedule.
# For a team's own COCO-format data: inherit this, set metainfo=dict(classes=...) in the dataloaders,
# num_classes, the json / image paths and CocoMetric's ann_file (README).
_base_ = [
    './_base_/models/faster_rcnn_vgg16_coco.py', './_base_/datasets/coco.py',
    './_base_/schedules/alternating_coco.py', './_base_/default_runtime.py'
]
