"""The paper's three training modes side by side (§3.2) on the generated demo data: mAP and
training time per mode, same data, same number of iterations.

    python tools/compare_training_modes.py [--work-dir work_dirs/compare] [--modes ...] [--iters-scale 1.0]

1. 4-step alternating training     configs/faster_rcnn_zf_alternating_toyvoc.py
2. approximate joint training      configs/faster_rcnn_zf_joint_toyvoc.py
3. non-approximate joint training  configs/faster_rcnn_zf_nonapprox_joint_toyvoc.py

Needs the demo's data and stand-in weights (run ``make demo`` or ``tools/demo.py`` first). Each mode
trains with tools/train.py and is evaluated with tools/test.py on the toy test split (VOC07
11-point mAP@0.5). Prints a Markdown table and writes it with the figures to
``<work-dir>/modes.json`` / ``modes.md``. ``--iters-scale`` shrinks every mode's iterations alike.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODES = {
    'alternating': ('4-step alternating', 'configs/faster_rcnn_zf_alternating_toyvoc.py'),
    'joint': ('approximate joint', 'configs/faster_rcnn_zf_joint_toyvoc.py'),
    'nonapprox': ('non-approximate joint', 'configs/faster_rcnn_zf_nonapprox_joint_toyvoc.py'),
}


def scaled_iters(mode: str, scale: float):
    if scale == 1.0:
        return []
    if mode == 'alternating':
        opts = []
        for stage, iters in (('step1_rpn', 700), ('step2_fast_rcnn', 250), ('step3_rpn', 700),
                             ('step4_fast_rcnn', 250)):
            n = max(4, int(iters * scale))
            opts += [f'train_cfg.stages.{stage}.max_iters={n}',
                     f'train_cfg.stages.{stage}.param_scheduler.0.milestones=[{n * 3 // 4}]']
        return opts
    n = max(8, int(1900 * scale) // 2 * 2)
    return [f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}',
            f'param_scheduler.0.end={n}', f'param_scheduler.0.milestones=[{n * 3 // 4}]']


def run(cmd, log_file):
    with open(log_file, 'w') as log:
        proc = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed; see {log_file}")
    with open(log_file) as f:
        return f.read()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/compare')
    parser.add_argument('--modes', nargs='+', default=list(MODES), choices=list(MODES))
    parser.add_argument('--iters-scale', type=float, default=1.0)
    args = parser.parse_args(argv)
    if not osp.isfile(osp.join(REPO, 'data/toy/stand_in_imagenet_zf.pth')):
        raise SystemExit('run `make demo` (or tools/demo.py) first: it makes the toy data and stand-in weights')
    rows = {}
    for mode in args.modes:
        name, config = MODES[mode]
        work = osp.join(args.work_dir, mode)
        print(f'== {name}: {config}', flush=True)
        start = time.time()
        run([sys.executable, 'tools/train.py', config, '--work-dir', work, '--cfg-options',
             *scaled_iters(mode, args.iters_scale), 'default_hooks.checkpoint.interval=1000000'],
            osp.join(REPO, work + '_train.log'))
        train_time = time.time() - start
        with open(osp.join(REPO, work, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        if mode == 'alternating':
            checkpoint = osp.join(REPO, work, 'faster_rcnn_final.pth')
        log = run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', osp.join(work, 'test')],
                  osp.join(REPO, work + '_test.log'))
        mean_ap = float(re.findall(r'pascal_voc/mAP: ([0-9.]+)', log)[-1])
        rows[mode] = dict(mode=name, config=config, mAP=mean_ap, train_minutes=round(train_time / 60, 1))
        print(f'   mAP {mean_ap:.3f}, training {train_time / 60:.1f} min', flush=True)
    table = ['| training mode (§3.2) | config | toy test mAP@0.5 | training time (2 CPU cores) |',
             '|---|---|---|---|']
    table += [f"| {r['mode']} | `{r['config']}` | {r['mAP']:.3f} | {r['train_minutes']} min |" for r in rows.values()]
    print('\n'.join(table))
    os.makedirs(osp.join(REPO, args.work_dir), exist_ok=True)
    with open(osp.join(REPO, args.work_dir, 'modes.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    with open(osp.join(REPO, args.work_dir, 'modes.md'), 'w') as f:
        f.write('\n'.join(table) + '\n')
    return rows


if __name__ == '__main__':
    main()
