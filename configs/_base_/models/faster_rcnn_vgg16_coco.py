# The VGG-16 Faster R-CNN of the paper's MS COCO experiments (§4.2): 80 classes and anchors of 4
# scales, adding 64² ("mainly motivated by handling small objects on this dataset"); the rest as
# faster_rcnn_vgg16.py (background RoIs with IoU in [0, 0.5) is already our VOC setting).
_base_ = './faster_rcnn_vgg16.py'

model = dict(
    rpn_head=dict(anchor_generator=dict(scales=[4, 8, 16, 32])),  # 64², 128², 256², 512² (§4.2)
    roi_head=dict(bbox_head=dict(num_classes=80)))
