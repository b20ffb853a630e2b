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


def scaled_iters(config: str, scale: float):
    """``--cfg-options`` that multiply every stage's (or the joint run's) iterations and lr steps
    by ``scale``, read from the config itself."""
    if scale == 1.0:
        return []
    from mmengine.config import Config

    from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg
    cfg = Config.fromfile(osp.join(REPO, config))
    opts = []
    hook = alternating_hook_cfg(cfg)
    if hook is not None:
        prefix = f'custom_hooks.{cfg.custom_hooks.index(hook)}.stages'
        for stage, spec in hook.stages.items():
            n = max(4, int(spec.max_iters * scale))
            opts.append(f'{prefix}.{stage}.max_iters={n}')
            for i, sched in enumerate(spec.get('param_scheduler', [])):
                if 'milestones' in sched:
                    steps = [max(1, int(m * scale)) for m in sched.milestones]
                    opts.append(f'{prefix}.{stage}.param_scheduler.{i}.milestones={steps}'.replace(' ', ''))
        return opts
    n = max(8, int(cfg.train_cfg.max_iters * scale) // 2 * 2)
    opts += [f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}']
    for i, sched in enumerate(cfg.param_scheduler):
        if 'end' in sched and sched.end >= cfg.train_cfg.max_iters:
            opts.append(f'param_scheduler.{i}.end={n}')
        if 'milestones' in sched:
            steps = [max(1, int(m * scale)) for m in sched.milestones]
            opts.append(f'param_scheduler.{i}.milestones={steps}'.replace(' ', ''))
    return opts


def total_iterations(config: str, scale: float) -> int:
    """Training iterations of ``config`` after ``scaled_iters`` (all stages together)."""
    from mmengine.config import Config, DictAction

    from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict({key: DictAction._parse_iterable(value) for key, value in
                         (opt.split('=', 1) for opt in scaled_iters(config, scale))})
    hook = alternating_hook_cfg(cfg)
    if hook is not None:
        return sum(stage.max_iters for stage in hook.stages.values())
    return cfg.train_cfg.max_iters


def run(cmd, log_file):
    with open(log_file, 'w') as log:
        proc = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get('PYTHONPATH')]))), stdout=log,
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
    os.makedirs(osp.join(REPO, args.work_dir), exist_ok=True)
    rows = {}
    for mode in args.modes:
        name, config = MODES[mode]
        work = osp.join(args.work_dir, mode)
        print(f'== {name}: {config}', flush=True)
        start = time.time()
        run([sys.executable, 'tools/train.py', config, '--work-dir', work, '--cfg-options',
             *scaled_iters(config, args.iters_scale), 'default_hooks.checkpoint.interval=1000000'],
            osp.join(REPO, work + '_train.log'))
        train_time = time.time() - start
        with open(osp.join(REPO, work, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        if mode == 'alternating':
            checkpoint = osp.join(REPO, work, 'faster_rcnn_final.pth')
        log = run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', osp.join(work, 'test')],
                  osp.join(REPO, work + '_test.log'))
        mean_ap = float(re.findall(r'pascal_voc/mAP: ([0-9.]+)', log)[-1])
        rows[mode] = dict(mode=name, config=config, iterations=total_iterations(config, args.iters_scale),
                          mAP=mean_ap, train_minutes=round(train_time / 60, 1))
        print(f'   mAP {mean_ap:.3f}, training {train_time / 60:.1f} min', flush=True)
    table = ['| training mode (§3.2) | config | iterations | toy test mAP@0.5 | training time (2 CPU cores) |',
             '|---|---|---|---|---|']
    table += [f"| {r['mode']} | `{r['config']}` | {r['iterations']} | {r['mAP']:.3f} | {r['train_minutes']} min |"
              for r in rows.values()]
    print('\n'.join(table))
    with open(osp.join(REPO, args.work_dir, 'modes.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    with open(osp.join(REPO, args.work_dir, 'modes.md'), 'w') as f:
        f.write('\n'.join(table) + '\n')
    return rows


if __name__ == '__main__':
    main()
