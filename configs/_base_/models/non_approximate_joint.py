# Non-approximate joint training (§3.2, training option iii): what the mode changes in a joint-training
# Faster R-CNN of either backbone, stated once for every *_nonapprox_joint_* config, which applies it
# with `model = _base_.non_approximate_joint_model`. The detector's loss is also differentiated
# w.r.t. the proposal boxes: RoI warping (bilinear sampling + max pooling, differentiable w.r.t. the
# box) replaces RoI pooling, and the proposals keep their graph back to the RPN's box regression.
non_approximate_joint_model = dict(
    train_mode='non_approximate_joint',
    roi_head=dict(
        type='NonApproximateRoIHead',
        # The paper leaves this mode open (§3.2 iii). Exact gradient from every sampled RoI, scaled
        # by 0.1 on its way into the boxes: unscaled it is 10-40x the RPN's own box-loss gradient
        # and the proposals drift off the objects (demo data: mAP 0.003 unscaled, 0.57-0.61 at 0.1).
        box_grad_from='all',
        box_grad_scale=0.1,
        # MNC's RoI warping: sample 2x2 points per output cell bilinearly, keep the maximum. The
        # output size stays the backbone's RoI size (ZF 6x6, VGG-16 7x7: roi_layer.output_size of
        # the model base).
        bbox_roi_extractor=dict(roi_layer=dict(type='RoIWarp', sampling_ratio=2))))
