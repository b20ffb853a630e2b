"""Plot the training losses of a work dir (MMEngine's vis_data/scalars.json) to a PNG.

    python tools/analysis_tools/plot_losses.py WORK_DIR [--out WORK_DIR/loss_curve.png]

For 4-step alternating training the steps are shaded and labelled (from
``alternating/stages.json``); the scalars of resumed runs (one timestamped folder each) are merged
by iteration.
"""
import math
import sys
import os.path as osp
from collections import defaultdict

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from faster_rcnn_paper.engine.run_record import read_timeline  # noqa: E402
from faster_rcnn_paper.utils.tool_errors import run_tool, tool_parser  # noqa: E402
from faster_rcnn_paper.utils.training_log import read_scalars  # noqa: E402

LOSS_KEYS = ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox')


def min_gap(points) -> int:
    """The logging interval: the smallest step between logged iterations."""
    gaps = [b[0] - a[0] for a, b in zip(points, points[1:])]
    return min(gaps) if gaps else 1


def plot(work_dir: str, out: str) -> str:
    records = read_scalars(work_dir)
    series = defaultdict(list)
    for it, record in records.items():
        for key in LOSS_KEYS:
            if record.get(key) is not None and math.isfinite(record[key]):  # null: not computed in this step
                series[key].append((it, record[key]))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for k, stage in enumerate(read_timeline(work_dir) or []):  # written by AlternatingTrainingHook
        ax.axvspan(stage['begin'] + 0.5, stage['end'] + 0.5, color=f'C{k % 10}', alpha=0.07)
        ax.text((stage['begin'] + stage['end']) / 2, 1.0, stage['name'], ha='center',
                va='bottom', fontsize=8, transform=ax.get_xaxis_transform())
    for k, (key, points) in enumerate(series.items()):
        # One line per run of consecutive logged iterations (a loss is absent in the steps that
        # do not compute it); zero losses cannot show on the log scale.
        segments, current = [], []
        for it, value in points:
            if current and it - current[-1][0] > 2 * min_gap(points):
                segments.append(current)
                current = []
            current.append((it, value if value > 0 else float('nan')))
        segments.append(current)
        for n, segment in enumerate(segments):
            its, values = zip(*segment)
            ax.plot(its, values, color=f'C{k}', linewidth=1, label=key if n == 0 else None)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_yscale('log')
    ax.legend(loc='lower left', fontsize=8)
    ax.set_title(f'Training losses: {osp.basename(osp.normpath(work_dir))}', pad=18)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None):
    parser = tool_parser(__doc__)
    parser.add_argument('work_dir')
    parser.add_argument('--out', default=None)
    args = parser.parse_args(argv)
    out = plot(args.work_dir, args.out or osp.join(args.work_dir, 'loss_curve.png'))
    print(f'loss curve: {out}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
