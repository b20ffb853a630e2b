# Paper Table 8 (§4.1, anchor settings), row "3 scales, 1 ratio: {128², 256², 512²}, 1:1";
# the demo (ZF, 4-step training at the demo budget, generated toy
# VOC data: not VOC numbers).
# The toy images are shown at shorter side 320 instead of 600 and the demo config halves the
# anchors with them: here 64², 128², 256² stand for the paper's 128², 256², 512².
# Only the anchors differ from the base; `tools/paper/paper_table.py table8` trains and evaluates it.
_base_ = ['../faster_rcnn_zf_alternating_toyvoc.py']

model = dict(rpn_head=dict(anchor_generator=dict(
    scales=[4, 8, 16],  # box areas 64², 128², 256² on the 16-px base anchor (§3.1.1)
    ratios=[1.0])))  # aspect ratios 1:1; k = 3 anchors per position
