"""tools/misc/check_dataset.py finds, before training, what would crash or mislead a long run."""
import os
import subprocess
import sys

import cv2
import numpy as np

from tests.tiny import REPO, TINY_SCALE, make_tiny_voc, tiny_config, tool_env


def run_check(tmp_path, data_root):
    cfg = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp_path / 'work')
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    return subprocess.run([sys.executable, 'tools/misc/check_dataset.py', config, '--split', 'train'], cwd=REPO,
                          env=tool_env(), capture_output=True, text=True, timeout=300)


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
    text = text.replace('<difficult>0</difficult>', '<difficult>1</difficult>')
    open(xml, 'w').write(text)  # only difficult objects: warning
    from PIL import Image
    exif = Image.Exif()
    exif[0x0112] = 3  # turned by 180 degrees as decoded: the size cannot tell, a warning
    Image.open(os.path.join(jpegs, '000005.jpg')).save(os.path.join(jpegs, '000005.jpg'), exif=exif.tobytes())
    proc = run_check(tmp_path, root)
    out = proc.stdout
    assert proc.returncode == 1
    assert '000001.jpg: cannot be read as an image' in out
    assert '000002.jpg: image is' in out and 'but the annotation says' in out
    assert '000003.jpg' not in out
    # only difficult objects: kept by filter_empty_gt, trains as background (not "skipped")
    assert 'WARNING' in out and '000004.jpg: only difficult (or ignored) objects; trains as an all-background' in out
    assert 'skipped' not in out
    assert 'WARNINGS: mirrored or half-turned by EXIF (1)' in out and '000005.jpg: EXIF orientation 3' in out
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


def write_voc_xml(path, width, height, boxes, name='square'):
    objects = ''.join(
        f'<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>'
        f'<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>' for b in boxes)
    with open(path, 'w') as f:
        f.write(f'<annotation><size><width>{width}</width><height>{height}</height><depth>3</depth></size>'
                f'{objects}</annotation>')


def test_unusual_but_valid_images_pass_the_check_and_train(tmp_path):
    """RGBA PNG content behind a .jpg name, a 12 x 10 image, a 3000 x 2400 image and a 1-px-wide box
    (xmin == xmax: VOC boxes are inclusive, so it is not empty) are accepted by the checker, come out
    of the training pipeline as 3-channel images at the config's scale, and give finite losses."""
    import torch
    from mmengine.registry import init_default_scope
    from mmdet.registry import DATASETS, MODELS
    from mmdet.structures import DetDataSample  # noqa: F401  (registers the data structures)

    root = make_tiny_voc(tmp_path / 'voc', num_trainval=4, num_test=1)
    voc = os.path.join(root, 'VOC2007')
    img_path = lambda i: os.path.join(voc, 'JPEGImages', f'00000{i}.jpg')  # noqa: E731
    xml_path = lambda i: os.path.join(voc, 'Annotations', f'00000{i}.xml')  # noqa: E731
    img = cv2.imread(img_path(1))
    h, w = img.shape[:2]
    rgba = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    rgba[..., 3] = 128
    with open(img_path(1), 'wb') as f:  # PNG bytes (with alpha) in a file named .jpg
        f.write(cv2.imencode('.png', rgba)[1].tobytes())
    cv2.imwrite(img_path(2), cv2.resize(cv2.imread(img_path(2)), (12, 10)))
    write_voc_xml(xml_path(2), 12, 10, [(2, 2, 11, 9)])
    cv2.imwrite(img_path(3), cv2.resize(cv2.imread(img_path(3)), (3000, 2400)))
    write_voc_xml(xml_path(3), 3000, 2400, [(100, 200, 1500, 1800), (2000, 100, 2900, 700)])
    write_voc_xml(xml_path(4), *cv2.imread(img_path(4)).shape[1::-1], [(20, 20, 20, 60)])

    proc = run_check(tmp_path, root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'checked 4 images: 0 error(s), 0 warning(s)' in proc.stdout

    cfg = tiny_config('configs/faster_rcnn_zf_joint_voc.py', root, tmp_path / 'work')
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    samples = [dataset[i] for i in range(len(dataset))]
    long_side, short_side = max(TINY_SCALE), min(TINY_SCALE)
    for sample in samples:
        c, sh, sw = sample['inputs'].shape
        assert c == 3
        assert min(sh, sw) == short_side or max(sh, sw) == long_side
        boxes = sample['data_samples'].gt_instances.bboxes.tensor
        assert len(boxes) and torch.isfinite(boxes).all()
        assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 3] >= boxes[:, 1]).all()
    model = MODELS.build(cfg.model)
    model.train()
    data = model.data_preprocessor(dict(inputs=[s['inputs'] for s in samples],
                                        data_samples=[s['data_samples'] for s in samples]), True)
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(loss), log_vars


def test_every_bad_file_is_reported_in_one_run_grouped(tmp_path):
    """Five fatal files (malformed XML, missing XML, object without <name>, missing image, corrupt
    JPEG): one run lists them all, grouped by kind, and the good images are still checked."""
    root = make_tiny_voc(tmp_path / 'voc', num_trainval=7, num_test=1)
    voc = os.path.join(root, 'VOC2007')
    with open(os.path.join(voc, 'Annotations', '000001.xml'), 'w') as f:
        f.write('<annotation><object>')
    os.remove(os.path.join(voc, 'Annotations', '000002.xml'))
    xml = os.path.join(voc, 'Annotations', '000003.xml')
    text = open(xml).read()
    start, end = text.index('<name>'), text.index('</name>') + len('</name>')
    open(xml, 'w').write(text[:start] + text[end:])
    os.remove(os.path.join(voc, 'JPEGImages', '000004.jpg'))
    with open(os.path.join(voc, 'JPEGImages', '000005.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    proc = run_check(tmp_path, root)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert 'ERRORS: annotation or image file (4)' in out
    assert '000001.xml: malformed XML' in out
    assert '000002.xml' in out and 'not found' in out
    assert '000003.xml: object #1 has no <name>' in out
    assert '000004.jpg' in out
    assert 'ERRORS: unreadable image (1)' in out and '000005.jpg: cannot be read' in out
    assert 'checked 7 images: 5 error(s)' in out


def test_empty_image_list_is_named(tmp_path):
    root = make_tiny_voc(tmp_path / 'voc', num_trainval=1, num_test=1)
    open(os.path.join(root, 'VOC2007', 'ImageSets', 'Main', 'trainval.txt'), 'w').close()
    proc = run_check(tmp_path, root)
    assert proc.returncode == 1
    assert 'ERRORS: dataset list (1)' in proc.stdout
    assert 'is empty' in proc.stdout and 'ImageSets/Main/trainval.txt' in proc.stdout


def test_image_without_an_anchor_inside_is_predicted(tmp_path):
    """A 3000 x 200 image shown at the tiny scale (320 long side) is 320 x 21: no paper anchor
    (the smallest is 184 x 96) fits inside it, so the RPN will ignore all its anchors."""
    root = make_tiny_voc(tmp_path / 'voc', num_trainval=2, num_test=1)
    voc = os.path.join(root, 'VOC2007')
    cv2.imwrite(os.path.join(voc, 'JPEGImages', '000001.jpg'), np.full((200, 3000, 3), 90, np.uint8))
    write_voc_xml(os.path.join(voc, 'Annotations', '000001.xml'), 3000, 200, [(100, 50, 400, 150)])
    proc = run_check(tmp_path, root)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr  # a warning: training runs (zero RPN loss for it)
    assert 'WARNINGS: no anchor inside the image (1)' in out
    assert '000001.jpg: 3000x200 becomes 320x21' in out and 'no anchor fits inside' in out
    assert '000002.jpg: ' not in out.split('WARNINGS: no anchor inside the image')[1].split('WARNINGS:')[0]
