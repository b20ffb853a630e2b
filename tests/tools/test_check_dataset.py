"""tools/check_dataset.py finds, before training, what would crash or mislead a long run."""
import os
import subprocess
import sys

import cv2
import numpy as np

from tests.tiny import REPO, make_tiny_voc, tiny_config


def run_check(tmp_path, data_root):
    cfg = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp_path / 'work')
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    return subprocess.run([sys.executable, 'tools/check_dataset.py', config, '--split', 'train'], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True, timeout=300)


def test_clean_dataset_passes(tmp_path):
    proc = run_check(tmp_path, make_tiny_voc(tmp_path / 'voc', num_trainval=3, num_test=1))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'checked 3 images: 0 error(s)' in proc.stdout


def test_bad_images_are_reported(tmp_path):
    root = make_tiny_voc(tmp_path / 'voc', num_trainval=5, num_test=1)
    jpegs = os.path.join(root, 'VOC2007', 'JPEGImages')
    with open(os.path.join(jpegs, '000001.jpg'), 'wb') as f:  # corrupt JPEG
        f.write(b'\xff\xd8\xff\xe0 not really a jpeg')
    img = cv2.imread(os.path.join(jpegs, '000002.jpg'))
    cv2.imwrite(os.path.join(jpegs, '000002.jpg'), img[: img.shape[0] // 2])  # size != annotation
    gray = cv2.cvtColor(cv2.imread(os.path.join(jpegs, '000003.jpg')), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(os.path.join(jpegs, '000003.jpg'), gray)  # grayscale: fine, read as 3 channels
    xml = os.path.join(root, 'VOC2007', 'Annotations', '000004.xml')
    text = open(xml).read()
    for name in ('circle', 'square', 'triangle', 'bar', 'pillar'):
        text = text.replace(f'<difficult>0</difficult>', '<difficult>1</difficult>')
    open(xml, 'w').write(text)  # only difficult objects: warning
    proc = run_check(tmp_path, root)
    out = proc.stdout
    assert proc.returncode == 1
    assert '000001.jpg: cannot be read as an image' in out
    assert '000002.jpg: image is' in out and 'but the annotation says' in out
    assert '000003.jpg' not in out
    assert 'WARNING' in out and '000004.jpg: no object to train on' in out
    assert 'checked 5 images: 2 error(s)' in out


def test_too_small_after_resize_is_an_error(tmp_path):
    root = make_tiny_voc(tmp_path / 'voc', num_trainval=1, num_test=1)
    path = os.path.join(root, 'VOC2007', 'JPEGImages', '000001.jpg')
    img = cv2.imread(path)
    h, w = img.shape[:2]
    cv2.imwrite(path, np.ascontiguousarray(cv2.resize(img, (w, h))))
    # an extremely elongated image: 2000 x 4 px annotated consistently
    thin = np.zeros((4, 2000, 3), np.uint8)
    cv2.imwrite(path, thin)
    xml = os.path.join(root, 'VOC2007', 'Annotations', '000001.xml')
    text = open(xml).read()
    text = text.replace(f'<width>{w}</width>', '<width>2000</width>').replace(f'<height>{h}</height>', '<height>4</height>')
    open(xml, 'w').write(text)
    proc = run_check(tmp_path, root)
    assert proc.returncode == 1
    assert 'after Resize' in proc.stdout and 'aspect ratio 500.0' in proc.stdout
