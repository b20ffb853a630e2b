# ZF Faster R-CNN, non-approximate joint training (§3.2 option iii) on VOC07: as the approximate
# joint setting (faster_rcnn_zf_joint_voc.py) but the detector's loss is also differentiated w.r.t.
# the proposal boxes: RoI warping (bilinear sampling + max pooling, differentiable w.r.t. the box)
# replaces RoI pooling, and the proposals keep their graph back to the RPN's box regression.
_base_ = ['./faster_rcnn_zf_joint_voc.py']

model = dict(
    train_mode='non_approximate_joint',
    roi_head=dict(
        type='NonApproximateRoIHead',
        # The paper leaves this mode open (§3.2 iii). Exact gradient from every sampled RoI, scaled
        # by 0.1 on its way into the boxes: unscaled it is 10-40x the RPN's own box-loss gradient
        # and the proposals drift off the objects (demo data: mAP 0.003 unscaled, 0.57-0.61 at 0.1).
        box_grad_from='all',
        box_grad_scale=0.1,
        # MNC's RoI warping: sample 2x2 points per output cell bilinearly, keep the maximum
        bbox_roi_extractor=dict(roi_layer=dict(_delete_=True, type='RoIWarp', output_size=6, sampling_ratio=2))))
