# Paper Table 8 (§4.1, anchor settings), row "1 scale, 1 ratio: 256², 1:1";
# VGG-16, 4-step training, VOC07 trainval -> VOC07 test (the paper's setting).
# Only the anchors differ from the base; `tools/paper/paper_table.py table8` trains and evaluates it.
_base_ = ['../faster_rcnn_vgg16_voc.py']

model = dict(rpn_head=dict(anchor_generator=dict(
    scales=[16],  # box areas 256² on the 16-px base anchor (§3.1.1)
    ratios=[1.0])))  # aspect ratios 1:1; k = 1 anchors per position
