# Faster R-CNN with VGG-16 as published (Ren et al. 2015, arXiv:1506.01497) and implemented in
# py-faster-rcnn (models/pascal_voc/VGG16/faster_rcnn_end2end, lib/fast_rcnn/config.py).
# Each paper number appears once, here; faster_rcnn_zf.py overrides only what ZF changes.
model = dict(
    type='PaperFasterRCNN',  # mmdet's FasterRCNN + the paper's training modes (§3.2)
    train_mode='joint',  # approximate joint training; the 4-step loop switches it per step
    # ImageNet initialisation (§3.1.3): py-faster-rcnn's VGG16.v2.caffemodel, converted with
    #   python tools/model_converters/convert_imagenet_weights.py vgg16-caffe VGG16.v2.caffemodel checkpoints/vgg16_caffe_layout.pth
    # (backbone convs and fc6 / fc7). Training stops at once if the file is absent; from scratch: model.init_cfg=None.
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vgg16_caffe_layout.pth'),
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[102.9801, 115.9465, 122.7717],  # BGR pixel means (py-faster-rcnn PIXEL_MEANS)
        std=[1.0, 1.0, 1.0],  # no std division: Caffe models see 0-255 pixels minus the mean
        bgr_to_rgb=False,  # Caffe models take BGR images
        pad_size_divisor=1),  # py-faster-rcnn pads a batch only to its largest image
    backbone=dict(
        type='VGG16',
        frozen_stages=2),  # conv1_x and conv2_x are not trained (§4.1; lr_mult 0 in pfr)
    rpn_head=dict(
        type='PaperRPNHead',
        in_channels=512,
        feat_channels=512,  # n x n = 3 x 3 sliding window to a 512-d feature for VGG (§3.1)
        anchor_generator=dict(
            type='PaperAnchorGenerator',
            strides=[16],  # total stride of the shared conv layers (§3.1.1)
            ratios=[0.5, 1.0, 2.0],  # 3 aspect ratios 1:2, 1:1, 2:1 (§3.1.1)
            scales=[8, 16, 32]),  # box areas 128², 256², 512² on a 16-px base (§3.1.1), k = 9
        bbox_coder=dict(
            type='PaperDeltaXYWHBBoxCoder',  # eq. (2) as py-faster-rcnn's bbox_transform(_inv)
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),  # RPN targets are not normalised (pfr)
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),  # 2-way softmax (§3.1.2)
        # Smooth L1 with sigma 3 (pfr rpn_loss_bbox), i.e. beta = 1 / 9; both losses are averaged
        # over the 256 sampled anchors, the paper's lambda = 10 with N_reg ~ 2400 (§3.1.2).
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='CaffeRoIExtractor',
            roi_layer=dict(type='RoIPool', output_size=7),  # Caffe RoI max pooling, 7x7 for VGG
            out_channels=512,
            featmap_strides=[16]),  # spatial scale 1/16
        bbox_head=dict(
            type='FastRCNNBBoxHead',
            in_channels=512,
            roi_feat_size=7,
            fc_out_channels=4096,  # fc6, fc7 of the ImageNet classifier
            dropout_ratio=0.5,  # dropout after fc6 and fc7
            num_classes=20,  # PASCAL VOC
            bbox_coder=dict(
                type='PaperDeltaXYWHBBoxCoder',
                target_means=[0.0, 0.0, 0.0, 0.0],
                target_stds=[0.1, 0.1, 0.2, 0.2]),  # BBOX_NORMALIZE_STDS (pfr end2end)
            reg_class_agnostic=False,  # class-specific box regression
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),  # sigma 1
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,  # positive: IoU >= 0.7 with some gt box (§3.1.2)
                neg_iou_thr=0.3,  # negative: IoU < 0.3 with every gt box
                min_pos_iou=0.0,  # ... or the highest IoU for a gt box, however low (pfr)
                match_low_quality=True,
                gt_max_assign_all=True,  # all anchors tied at a gt's highest IoU (pfr)
                ignore_iof_thr=-1,
                iou_calculator=dict(type='LegacyBboxOverlaps2D')),  # +1 areas (pfr bbox_overlaps)
            sampler=dict(
                type='RandomSampler',
                num=256,  # 256 anchors per image (§3.1.3)
                pos_fraction=0.5,  # up to 1:1 positives, padded with negatives
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=0,  # cross-boundary anchors are ignored in training (§3.3)
            pos_weight=-1,
            debug=False),
        # Proposals fed to Fast R-CNN in training (pfr TRAIN.RPN_*): NMS 0.7, 12000 -> 2000.
        rpn_proposal=dict(
            nms_pre=12000,
            max_per_img=2000,
            nms=dict(type='nms', iou_threshold=0.7, offset=1),  # §3.3, +1 areas as pfr
            min_bbox_size=16),  # in original-image pixels (pfr RPN_MIN_SIZE)
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,  # foreground: IoU >= 0.5 (Fast R-CNN §2.3)
                neg_iou_thr=0.5,  # background: IoU in [0, 0.5) (pfr BG_THRESH_LO = 0.0)
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1,
                iou_calculator=dict(type='LegacyBboxOverlaps2D')),
            sampler=dict(
                type='RandomSampler',
                num=128,  # 128 RoIs per image (pfr end2end BATCH_SIZE)
                pos_fraction=0.25,  # 25 % foreground
                neg_pos_ub=-1,
                add_gt_as_proposals=True),  # gt boxes join the candidate RoIs
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        # Test-time proposals (pfr TEST.RPN_*, §3.3): 6000 -> NMS 0.7 -> 300.
        rpn=dict(
            nms_pre=6000,
            max_per_img=300,
            nms=dict(type='nms', iou_threshold=0.7, offset=1),
            min_bbox_size=16,
            # Test-time ablations of Table 2 (§4.1), off here; tools/paper/paper_table.py table2 turns
            # them on: use_nms=False "no NMS", rank_by='random' "no cls" (seeded by random_seed),
            # use_box_regression=False "no reg" (proposals = clipped anchors). See PaperRPNHead.
            use_nms=True,
            rank_by='objectness',
            random_seed=0,
            use_box_regression=True),
        rcnn=dict(
            score_thr=0.05,  # pfr test_net thresh
            nms=dict(type='nms', iou_threshold=0.3, offset=1),  # per-class NMS (pfr TEST.NMS)
            max_per_img=100)))  # pfr max_per_image
