"""Inference speed of a detector, split as the paper's Table 5: shared convs / proposal stage (RPN +
NMS) / region-wise stage (RoI pooling + fc layers + per-class NMS).

    python tools/analysis_tools/benchmark_inference.py CONFIG [CHECKPOINT] [--images 8] [--repeats 3] [--warmup 2]
        [--device cpu|cuda] [--threads N] [--json out.json] [--cfg-options ...]

Runs on a fixed set of generated images (seeded) of the paper's scale, 600x1000 after resizing, so
timing needs no dataset; random weights are fine (timing does not depend on trained weights, but
the number of detections that reach NMS does, so pass a checkpoint for final figures). Prints the
median and spread (min-max) of each part per image, images per second, peak memory and the ratio
total / shared convs (paper, K40: 198/141 = 1.40 for VGG-16, 59/31 = 1.90 for ZF).
"""
import json
import resource
import statistics
import sys
import time

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model

import faster_rcnn_paper  # noqa: F401  (registers the components)
from faster_rcnn_paper.utils.strict_loading import check_checkpoint_fits, read_checkpoint
from faster_rcnn_paper.utils.tool_config import read_config
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

PAPER_K40_MS = {'VGG16': (141, 10, 47), 'ZFNet': (31, 3, 25)}  # Table 5: conv, proposal, region-wise


def make_images(num, height=600, width=1000, seed=0):
    """Seeded textured images of the paper's input size (what the Resize step would output)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(num):
        base = rng.integers(0, 256, size=(height // 20 + 1, width // 20 + 1, 3)).astype(np.uint8)
        img = np.kron(base, np.ones((20, 20, 1), dtype=np.uint8))[:height, :width]
        noise = rng.integers(-20, 21, size=img.shape)
        images.append(torch.from_numpy(np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)).permute(2, 0, 1))
    return images


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


@torch.no_grad()
def time_image(model, image, device):
    """(convs, proposal, region-wise) seconds for one image, and the detections."""
    h, w = image.shape[1:]
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
                                         pad_shape=(h, w), batch_input_shape=(h, w)))
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), False)
    inputs, samples = data['inputs'], data['data_samples']
    sync(device)
    t0 = time.perf_counter()
    x = model.extract_feat(inputs)
    sync(device)
    t1 = time.perf_counter()
    proposals = model.rpn_head.predict(x, samples, rescale=False)
    sync(device)
    t2 = time.perf_counter()
    results = model.roi_head.predict(x, proposals, samples, rescale=True)
    sync(device)
    t3 = time.perf_counter()
    return (t1 - t0, t2 - t1, t3 - t2), results[0]


def peak_memory_mb(device):
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def summarise(values):
    return dict(median_ms=round(statistics.median(values) * 1e3, 2), min_ms=round(min(values) * 1e3, 2),
                max_ms=round(max(values) * 1e3, 2))


def main(argv=None):
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--images', type=int, default=4, help='distinct generated images')
    parser.add_argument('--repeats', type=int, default=3, help='timed passes over the images')
    parser.add_argument('--warmup', type=int, default=2, help='untimed images first')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--json', help='write the figures to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmdet')
    cfg.model.pop('init_cfg', None)  # random weights unless a checkpoint is given
    model = MODELS.build(cfg.model)
    model.init_weights()
    if args.checkpoint:
        checkpoint = read_checkpoint(args.checkpoint)
        check_checkpoint_fits(model, checkpoint, args.checkpoint)  # strict: every weight, same shape
        _load_checkpoint_to_model(model, checkpoint)
    model.to(args.device).eval()
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    images = [img.to(args.device) for img in make_images(args.images)]
    for i in range(args.warmup):
        time_image(model, images[i % len(images)], args.device)
    parts = ([], [], [])
    detections = []
    for _ in range(args.repeats):
        for image in images:
            times, result = time_image(model, image, args.device)
            for store, t in zip(parts, times):
                store.append(t)
            detections.append(len(result))
    totals = [sum(t) for t in zip(*parts)]
    convs, proposal, region = (summarise(p) for p in parts)
    total = summarise(totals)
    backbone = cfg.model.backbone.type
    report = dict(
        config=args.config, backbone=backbone, device=args.device, threads=torch.get_num_threads(),
        input_size=[600, 1000], proposals=cfg.model.test_cfg.rpn.max_per_img, timed_images=len(totals),
        convs=convs, proposal=proposal, region_wise=region, total=total,
        images_per_second=round(1.0 / statistics.median(totals), 3),
        total_over_convs=round(statistics.median(totals) / statistics.median(parts[0]), 3),
        mean_detections=round(float(np.mean(detections)), 1), peak_memory_mb=round(peak_memory_mb(args.device), 1))
    paper = PAPER_K40_MS.get(backbone)
    print(f"{args.config} ({backbone}, {args.device}, {report['threads']} threads, 600x1000, "
          f"{report['proposals']} proposals, {len(totals)} timed images)")
    print(f"{'part':<28}{'median ms':>11}{'min-max ms':>20}" + (f"{'paper K40 ms':>14}" if paper else ''))
    for k, (name, stats) in enumerate([('shared convs', convs), ('proposal (RPN + NMS)', proposal),
                                       ('region-wise (RoI + fc + NMS)', region), ('total', total)]):
        ref = f'{(paper[k] if k < 3 else sum(paper)):>14}' if paper else ''
        print(f"{name:<28}{stats['median_ms']:>11.1f}{stats['min_ms']:>10.1f}-{stats['max_ms']:<9.1f}{ref}")
    ratio_paper = f' (paper K40: {sum(paper) / paper[0]:.2f})' if paper else ''
    print(f"images/s {report['images_per_second']:.3f}   peak memory {report['peak_memory_mb']:.0f} MB   "
          f"total / shared convs = {report['total_over_convs']:.3f}{ratio_paper}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    sys.exit(run_tool(lambda argv: main(argv) and 0))
