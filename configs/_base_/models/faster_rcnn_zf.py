# Faster R-CNN with ZF-net (py-faster-rcnn models/pascal_voc/ZF): everything as faster_rcnn_vgg16.py
# except the backbone, the 256-d RPN feature (§3.1), 6x6 RoI pooling and Caffe's test-time-scaled
# dropout (dropout_param scale_train: false).
_base_ = './faster_rcnn_vgg16.py'

model = dict(
    # ImageNet initialisation: py-faster-rcnn's ZF.v2.caffemodel, converted with
    #   python tools/model_converters/convert_imagenet_weights.py zf-caffe ZF.v2.caffemodel checkpoints/zf_caffe_layout.pth
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/zf_caffe_layout.pth'),
    backbone=dict(_delete_=True, type='ZFNet', frozen_stages=0),  # all five convs train (pfr)
    rpn_head=dict(in_channels=256, feat_channels=256),  # 256-d for ZF (§3.1)
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(output_size=6), out_channels=256),
        bbox_head=dict(in_channels=256, roi_feat_size=6, caffe_dropout=True)))
