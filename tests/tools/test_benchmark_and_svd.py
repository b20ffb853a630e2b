"""tools/analysis_tools/benchmark_inference.py (Table-5 split) and tools/model_converters/compress_fc_svd.py on small models."""
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401
from mmdet.registry import MODELS
from tests.tiny import REPO, tool_env

ENV = tool_env()


def test_benchmark_prints_table5_split_and_json(tmp_path):
    out = tmp_path / 'bench.json'
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/benchmark_inference.py', 'configs/faster_rcnn_zf_joint_voc.py',
                           '--images', '1', '--repeats', '1', '--warmup', '0', '--json', str(out)],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for line in ('shared convs', 'proposal (RPN + NMS)', 'region-wise (RoI + fc + NMS)', 'total / shared convs'):
        assert line in proc.stdout
    import json
    report = json.loads(out.read_text())
    assert report['backbone'] == 'ZFNet' and report['proposals'] == 300
    assert report['total_over_convs'] >= 1.0 and report['images_per_second'] > 0


def test_compress_fc_svd_round_trip(tmp_path):
    config = tmp_path / 'small.py'
    config.write_text(f"_base_ = ['{REPO}/configs/faster_rcnn_zf_joint_voc.py']\n"
                      "model = dict(init_cfg=None, roi_head=dict(bbox_head=dict(fc_out_channels=64)))\n")
    cfg = Config.fromfile(str(config))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    proc = subprocess.run([sys.executable, 'tools/model_converters/compress_fc_svd.py', str(config), str(ckpt), str(tmp_path / 'svd'),
                           '--fc6-rank', '64', '--fc7-rank', '64'],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'fc6: rank 64' in proc.stdout
    svd_cfg = Config.fromfile(str(tmp_path / 'svd' / 'config_svd.py'))
    assert svd_cfg.model.roi_head.bbox_head.fc6_rank == 64
    svd_model = MODELS.build(svd_cfg.model)
    state = torch.load(tmp_path / 'svd' / 'model_svd.pth', weights_only=True)['state_dict']
    svd_model.load_state_dict(state)
    # full rank (64 = min(out, in) for fc7, and fc6's output size) reproduces the head exactly
    x = torch.randn(3, 256, 6, 6)
    model.eval(), svd_model.eval()
    with torch.no_grad():
        for a, b in zip(model.roi_head.bbox_head(x), svd_model.roi_head.bbox_head(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
