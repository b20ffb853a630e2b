# Paper Table 8 (§4.1, anchor settings), row "3 scales, 3 ratios: {128², 256², 512²}, {2:1, 1:1, 1:2}";
# ZF, 4-step training, VOC07 trainval -> VOC07 test (the paper ran this table
# with VGG-16 only).
# This row is the base config's own setting, restated so that every row is one file.
# Only the anchors differ from the base; `tools/paper/paper_table.py table8` trains and evaluates it.
_base_ = ['../faster_rcnn_zf_voc.py']

model = dict(rpn_head=dict(anchor_generator=dict(
    scales=[8, 16, 32],  # box areas 128², 256², 512² on the 16-px base anchor (§3.1.1)
    ratios=[0.5, 1.0, 2.0])))  # aspect ratios 1:2, 1:1, 2:1 (h:w); k = 9 anchors per position
