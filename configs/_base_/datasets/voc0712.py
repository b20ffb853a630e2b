# PASCAL VOC 2007+2012 (the paper's "07+12", §4.1): train on VOC07 trainval + VOC12 trainval,
# test on VOC07 test. Everything else as voc07.py.
_base_ = './voc07.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type={{_base_.dataset_type}},
                data_root={{_base_.data_root}},
                ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root=f'VOC{year}/'),
                filter_cfg=dict(filter_empty_gt=True),
                pipeline={{_base_.train_pipeline}},
                backend_args={{_base_.backend_args}}) for year in (2007, 2012)
        ]))
