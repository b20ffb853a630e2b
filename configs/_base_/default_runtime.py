# Runtime shared by every config: MMDetection's defaults plus our plugin and py-faster-rcnn's seed.
default_scope = 'mmdet'
# Registers the paper's components (backbones, anchors, heads, RoI pooling op, dataset, loops).
custom_imports = dict(imports=['faster_rcnn_paper'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook with atomic writes (a kill never leaves a half-written checkpoint to resume from)
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3),  # pfr SNAPSHOT_ITERS
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))  # tools/train.py switches to gloo when there is no GPU

# LocalVisBackend writing strict JSON (null, not a bare NaN, for a loss a step does not compute)
vis_backends = [dict(type='StrictJsonLocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
# mmengine's LogProcessor; names the current step during 4-step alternating training and writes every
# loss key in every JSON log line (null where a step does not compute it), as mmdet's
# tools/analysis_tools/analyze_logs.py plot_curve needs
log_processor = dict(type='StageLogProcessor', window_size=50, by_epoch=False,
                     keys_in_every_line=('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'))

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=3)  # py-faster-rcnn RNG_SEED = 3
