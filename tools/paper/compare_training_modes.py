"""The paper's three training modes side by side (§3.2) on the generated demo data: learning curves
(toy-test mAP against training iterations and wall time) over several training budgets, same data,
same stand-in weights.

    python tools/paper/compare_training_modes.py [--work-dir work_dirs/curves] [--modes ...] [--budgets 1 2 4] [--seed N]

1. 4-step alternating training     configs/faster_rcnn_zf_alternating_toyvoc.py
2. approximate joint training      configs/faster_rcnn_zf_joint_toyvoc.py
3. non-approximate joint training  configs/faster_rcnn_zf_nonapprox_joint_toyvoc.py

Needs the demo's data and stand-in weights (run ``make demo`` or ``tools/demo/demo.py`` first). A budget
B multiplies every mode's iterations by B, read from the configs (``scaled_iters``): each 4-step
stage's ``max_iters`` and its lr schedule (milestones, warm-up ``begin``/``end``), or the joint
run's ``max_iters`` and its schedule; budget 1 is the demo configs as they are. Each (mode, budget)
run trains with tools/train.py in ``<work-dir>/<mode>/x<B>/`` — its training wall time measured
here, around the training process, so the 4-step's proposal files between the steps count — and
is evaluated with tools/test.py on the toy test split (VOC07 11-point mAP@0.5).

A run whose result (``result.json`` in its folder) exists is not run again, so an interrupted
command continues where it stopped; a result made from another config content (a fingerprint of
the scaled config, its bases included) is run again, as is a run with no result (its folder is
cleared first). A failed run is reported
and the others still run (exit status 1 at the end). Written, atomically, to ``<work-dir>``:
``curves.json`` / ``curves.csv`` (mode, budget, iterations, training wall seconds, seconds per
iteration, toy-test mAP), ``curves.png`` (mAP vs iterations and vs wall time, one line per mode)
and ``curves.md`` (a Markdown table, also printed).
"""
import csv
import hashlib
import io
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODES = {
    'alternating': ('4-step alternating', 'configs/faster_rcnn_zf_alternating_toyvoc.py'),
    'joint': ('approximate joint', 'configs/faster_rcnn_zf_joint_toyvoc.py'),
    'nonapprox': ('non-approximate joint', 'configs/faster_rcnn_zf_nonapprox_joint_toyvoc.py'),
}
# PaperFasterRCNN.train_mode of the joint modes (the 4-step hook switches it per step)
JOINT_TRAIN_MODES = {'joint': 'joint', 'nonapprox': 'non_approximate_joint'}
CSV_FIELDS = ('mode', 'budget', 'iterations', 'train_seconds', 'seconds_per_iteration', 'mAP')


def _schedule_opts(prefix: str, schedulers, scale: float, max_iters: int, new_max: int) -> list:
    """``--cfg-options`` that move the iteration bounds of an lr schedule (``begin``/``end``, e.g.
    a LinearLR warm-up, and MultiStepLR ``milestones``) with the iterations: ``x scale``, rounded,
    an ``end`` at or past ``max_iters`` to ``new_max``, milestones kept inside the run."""
    opts = []
    for i, sched in enumerate(schedulers or []):
        for key in ('begin', 'end'):
            value = sched.get(key)
            if value is None or value == float('inf'):
                continue
            new = new_max if value >= max_iters else min(int(round(value * scale)), new_max)
            if new != value:
                opts.append(f'{prefix}.{i}.{key}={new}')
        if 'milestones' in sched:
            steps = [min(max(1, int(round(m * scale))), new_max - 1) for m in sched.milestones]
            opts.append(f'{prefix}.{i}.milestones={steps}'.replace(' ', ''))
    return opts


def scaled_iters(config: str, scale: float) -> list:
    """``--cfg-options`` that multiply every stage's (or the joint run's) iterations and lr schedule
    by ``scale``, read from the config itself (integer iterations; a joint run's stay a multiple of
    its gradient accumulation)."""
    if scale == 1.0:
        return []
    from mmengine.config import Config

    from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg, stage_iteration_options
    cfg = Config.fromfile(osp.join(REPO, config))
    opts = []
    hook = alternating_hook_cfg(cfg)
    if hook is not None:
        iters = {stage: max(4, int(round(spec.max_iters * scale))) for stage, spec in hook.stages.items()}
        for key, value in stage_iteration_options(cfg, iters).items():
            opts.append(f'{key}={value}')
            if key.endswith('.max_iters') and key.startswith('custom_hooks.'):
                spec = hook.stages[key.split('.')[-2]]
                opts += _schedule_opts(f'{key[:-len(".max_iters")]}.param_scheduler', spec.get('param_scheduler'),
                                       scale, spec.max_iters, value)
        return opts
    accumulate = cfg.optim_wrapper.get('accumulative_counts', 1)
    n = max(2 * accumulate, int(round(cfg.train_cfg.max_iters * scale)) // accumulate * accumulate)
    opts += [f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}']
    return opts + _schedule_opts('param_scheduler', cfg.param_scheduler, scale, cfg.train_cfg.max_iters, n)


def run_options(config: str, scale: float, seed=None) -> list:
    """The ``--cfg-options`` of a run: ``scaled_iters``, and MMEngine's ``randomness.seed`` when a
    ``seed`` is given (else the config's)."""
    return scaled_iters(config, scale) + ([] if seed is None else [f'randomness.seed={seed}'])


def scaled_config(config: str, scale: float, seed=None):
    """``config`` loaded with ``run_options(config, scale, seed)`` applied (what tools/train.py runs)."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict({key: DictAction._parse_iterable(value) for key, value in
                         (opt.split('=', 1) for opt in run_options(config, scale, seed))})
    return cfg


def total_iterations(config: str, scale: float) -> int:
    """Training iterations of ``config`` after ``scaled_iters`` (all stages together)."""
    from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg, parse_stages, total_iters
    cfg = scaled_config(config, scale)
    hook = alternating_hook_cfg(cfg)
    if hook is not None:
        return total_iters(parse_stages(hook.stages))
    return cfg.train_cfg.max_iters


def config_fingerprint(config: str, scale: float, seed=None) -> str:
    """SHA-256 of the scaled config's content (its bases included): a finished run counts only
    while the configs still give the training it ran."""
    text = json.dumps(scaled_config(config, scale, seed).to_dict(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def run(cmd, log_file):
    """Runs a tool (cwd: the repository), its output to ``log_file``; returns that output."""
    with open(log_file, 'w') as log:
        path = os.pathsep.join(filter(None, [REPO, os.environ.get('PYTHONPATH')]))
        proc = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=path), stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed; see {log_file}")
    with open(log_file) as f:
        return f.read()


def run_dir(work_dir: str, mode: str, budget: float) -> str:
    """The folder of one (mode, budget) run: ``<work_dir>/<mode>/x<budget>``."""
    return osp.join(work_dir, mode, f'x{budget:g}')


def train_and_test(mode: str, budget: float, work_dir: str, seed=None) -> dict:
    """One run: trains ``mode`` at ``budget`` in its own folder (cleared first), times the training
    process, tests the final model; returns its row (also written to ``result.json`` there)."""
    from faster_rcnn_paper.utils import atomic_write
    name, config = MODES[mode]
    work = run_dir(work_dir, mode, budget)
    if osp.isdir(osp.join(REPO, work)):
        shutil.rmtree(osp.join(REPO, work))  # a run that left no result: start it afresh
    os.makedirs(osp.join(REPO, work))
    iterations, fingerprint = total_iterations(config, budget), config_fingerprint(config, budget, seed)
    start = time.perf_counter()
    run([sys.executable, 'tools/train.py', config, '--work-dir', work, '--cfg-options',
         *run_options(config, budget, seed), 'default_hooks.checkpoint.interval=1000000'],
        osp.join(REPO, work, 'train.log'))
    train_seconds = time.perf_counter() - start
    if mode == 'alternating':
        from faster_rcnn_paper.engine.run_record import final_model
        checkpoint = final_model(osp.join(REPO, work))
    else:
        with open(osp.join(REPO, work, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
    log = run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', osp.join(work, 'test')],
              osp.join(REPO, work, 'test.log'))
    found = re.findall(r'pascal_voc/mAP: ([0-9.]+)', log)
    if not found:
        raise RuntimeError(f"no 'pascal_voc/mAP' in {osp.join(work, 'test.log')}")
    row = dict(mode=mode, budget=budget, iterations=iterations, train_seconds=round(train_seconds, 1),
               seconds_per_iteration=round(train_seconds / iterations, 3), mAP=float(found[-1]))
    atomic_write(osp.join(REPO, work, 'result.json'),
                 json.dumps(dict(row, config=config, config_sha256=fingerprint), indent=1) + '\n')
    return row


def finished(mode: str, budget: float, work_dir: str, seed=None):
    """The row of a finished run (its ``result.json``) if the configs still give the training it
    ran (``config_fingerprint``), else None."""
    path = osp.join(REPO, run_dir(work_dir, mode, budget), 'result.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        result = json.load(f)
    if result.get('config_sha256') != config_fingerprint(MODES[mode][1], budget, seed):
        print(f'   {path}: made from another content of {MODES[mode][1]} (or its bases): run again', flush=True)
        return None
    return {key: result[key] for key in CSV_FIELDS}


def markdown_table(rows) -> str:
    lines = ['| training mode (§3.2) | budget | iterations | training time | s / iteration | toy test mAP@0.5 |',
             '|---|---|---|---|---|---|']
    lines += [f"| {MODES[r['mode']][0]} | {r['budget']:g}× | {r['iterations']} | {r['train_seconds'] / 60:.1f} min "
              f"| {r['seconds_per_iteration']:.2f} | {r['mAP']:.3f} |" for r in rows]
    return '\n'.join(lines) + '\n'


def csv_text(rows) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def plot_png(rows) -> bytes:
    """PNG: toy-test mAP vs training iterations (left) and vs training wall time (right), one line
    per mode through its budgets."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (by_iters, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for mode, (name, _) in MODES.items():
        points = sorted((r for r in rows if r['mode'] == mode), key=lambda r: r['budget'])
        if not points:
            continue
        maps = [r['mAP'] for r in points]
        by_iters.plot([r['iterations'] for r in points], maps, 'o-', label=name)
        by_time.plot([r['train_seconds'] / 60 for r in points], maps, 'o-', label=name)
        for r in points:
            by_iters.annotate(f"{r['budget']:g}×", (r['iterations'], r['mAP']), textcoords='offset points',
                              xytext=(4, -10), fontsize=8)
    by_iters.set_xlabel('training iterations')
    by_time.set_xlabel('training wall time (min)')
    by_iters.set_ylabel('toy test mAP@0.5 (VOC07 11-point)')
    for ax in (by_iters, by_time):
        ax.grid(alpha=0.3)
    by_iters.legend(loc='lower right')
    fig.suptitle('Training modes (§3.2) on the demo data: learning curves over budgets')
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def write_results(rows, work_dir: str) -> None:
    from faster_rcnn_paper.utils import atomic_write
    out = osp.join(REPO, work_dir)
    atomic_write(osp.join(out, 'curves.json'), json.dumps(rows, indent=1) + '\n')
    atomic_write(osp.join(out, 'curves.csv'), csv_text(rows))
    atomic_write(osp.join(out, 'curves.md'), markdown_table(rows))
    atomic_write(osp.join(out, 'curves.png'), plot_png(rows))


def learning_curves(modes, budgets, work_dir: str, seed=None):
    """Runs (or reads the results of) every (mode, budget); writes the curves of those that
    succeeded. Returns (rows, failures) with failures as (mode, budget, message)."""
    os.makedirs(osp.join(REPO, work_dir), exist_ok=True)
    rows, failures = [], []
    for budget in budgets:
        for mode in modes:
            print(f'== {MODES[mode][0]} at {budget:g}x: {MODES[mode][1]}', flush=True)
            row = finished(mode, budget, work_dir, seed)
            if row is not None:
                print(f"   done before: mAP {row['mAP']:.3f}; skipped", flush=True)
            else:
                try:
                    row = train_and_test(mode, budget, work_dir, seed)
                except Exception as error:  # noqa: BLE001  one failed run must not stop the others
                    print(f'   FAILED: {error}', flush=True)
                    failures.append((mode, budget, str(error)))
                    continue
                print(f"   mAP {row['mAP']:.3f}, training {row['train_seconds'] / 60:.1f} min "
                      f"({row['seconds_per_iteration']:.2f} s/iteration)", flush=True)
            rows.append(row)
            write_results(rows, work_dir)  # after every run: an interrupted command leaves its curves
    if rows:
        print(markdown_table(rows), end='')
    for mode, budget, message in failures:
        print(f'FAILED: {mode} at {budget:g}x: {message}')
    return rows, failures


def main(argv=None):
    from faster_rcnn_paper.utils.tool_errors import tool_parser
    parser = tool_parser(__doc__)
    parser.add_argument('--work-dir', default='work_dirs/curves')
    parser.add_argument('--modes', nargs='+', default=list(MODES), choices=list(MODES))
    parser.add_argument('--budgets', nargs='+', type=float, default=[1.0, 2.0, 4.0],
                        help="multiples of the demo configs' iterations (default: 1 2 4)")
    parser.add_argument('--seed', type=int, default=None,
                        help="training seed (MMEngine's randomness.seed; default: the configs'); "
                        "the demo trains with its --seed, 0 by default")
    args = parser.parse_args(argv)
    if any(b <= 0 for b in args.budgets):
        parser.error(f'--budgets must be positive, got {args.budgets}')
    check_configs(args.modes)
    return 1 if learning_curves(args.modes, args.budgets, args.work_dir, args.seed)[1] else 0


def mode_problem(mode: str, cfg) -> str:
    """Why the loaded config ``cfg`` does not train ``mode`` ('' if it does): the 4-step mode needs
    an ``AlternatingTrainingHook``; the joint modes need none (the hook would switch the model to
    the 4 steps) and their ``model.train_mode``."""
    from faster_rcnn_paper.engine.alternating_stages import alternating_hook_cfg
    config, has_hook = MODES[mode][1], alternating_hook_cfg(cfg) is not None
    if has_hook != (mode == 'alternating'):
        return (f"{config}: custom_hooks {'has' if has_hook else 'lacks'} an AlternatingTrainingHook, so it "
                f"does not train {MODES[mode][0]} training"
                + (' but the 4 steps (set custom_hooks = [] there)' if has_hook else ''))
    if mode in JOINT_TRAIN_MODES and cfg.model.get('train_mode') != JOINT_TRAIN_MODES[mode]:
        return (f"{config}: model.train_mode is {cfg.model.get('train_mode')!r}, {JOINT_TRAIN_MODES[mode]!r} "
                f'expected for {MODES[mode][0]} training')
    return ''


def check_configs(modes) -> None:
    """Each mode's config trains that mode (``mode_problem``) and its initial weights
    (``model.init_cfg.checkpoint``) exist."""
    from mmengine.config import Config

    from faster_rcnn_paper.utils import UserFileNotFoundError, UserInputError
    cfgs = {mode: Config.fromfile(osp.join(REPO, MODES[mode][1])) for mode in modes}
    for mode, cfg in cfgs.items():
        problem = mode_problem(mode, cfg)
        if problem:
            raise UserInputError(problem)
    for mode, cfg in cfgs.items():
        config, checkpoint = MODES[mode][1], cfg.model.init_cfg.checkpoint
        if not osp.isfile(osp.join(REPO, checkpoint)):
            raise UserFileNotFoundError(f'{config}: model.init_cfg.checkpoint {checkpoint} does not exist; run '
                                        '`make demo` (or tools/demo/demo.py) first: it makes the toy data and stand-in '
                                        'weights')


if __name__ == '__main__':
    from faster_rcnn_paper.utils.tool_errors import run_tool
    sys.exit(run_tool(main))
