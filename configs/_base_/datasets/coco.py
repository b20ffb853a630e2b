# MS COCO (the paper's §4.2), or any COCO-format data (CocoDataset's json; own classes through
# metainfo=dict(classes=...)): same image pipeline as VOC (shorter side 600, longer <= 1000, flip),
# COCO-style evaluation (AP@[.5:.95] and AP@.5) through pycocotools (mmdet's CocoMetric).
_base_ = './voc07.py'

# mmdet's CocoDataset reading the .npz offline proposals of 4-step training (OfflineProposalsMixin).
dataset_type = 'PaperCocoDataset'
data_root = 'data/coco/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/', _delete_=True),
        filter_cfg=dict(filter_empty_gt=True, min_size=0)))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/', _delete_=True),
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args={{_base_.backend_args}})
test_evaluator = val_evaluator
