"""The tools as a user runs them: errors the user caused are one line and exit status 1 (no
traceback unless --debug); test and inference load checkpoints strictly; test-time augmentation."""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.registry import init_default_scope

import faster_rcnn_paper  # noqa: F401
from faster_rcnn_paper.demo.toy_voc import TOY_CLASSES
from mmdet.registry import MODELS
from tests.tiny import REPO, make_tiny_voc, tiny_config, tool_env
from tests.tools import TOOLS, load_tool
from tests.tools.tool_cases import MARK


def run(*args, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=tool_env(), capture_output=True, text=True,
                          timeout=timeout)


def run_cases(*cases, timeout=600):
    """Several tool command lines ``(tool, [args])`` in one process (tests/tools/tool_cases.py);
    one result per case with ``returncode``, ``stdout`` and ``stderr``, as from a subprocess."""
    proc = subprocess.run([sys.executable, '-m', 'tests.tools.tool_cases'], input=json.dumps(cases), cwd=REPO,
                          env=tool_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads([line for line in proc.stdout.splitlines() if line.startswith(MARK)][-1][len(MARK):])
    return [SimpleNamespace(returncode=r['status'], stdout=r['stdout'], stderr=r['stderr']) for r in results]


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert ': error: ' in last, proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in last, last


def save_checkpoint(cfg, path):
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': TOY_CLASSES}}}, path)
    return path


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny VOC tree, a ZF config on it, a matching ZF checkpoint and a (tiny-fc) VGG-16 one."""
    tmp = tmp_path_factory.mktemp('tools')
    data_root = make_tiny_voc(tmp / 'voc', num_trainval=1, num_test=2)
    zf = tiny_config('configs/faster_rcnn_zf_joint_voc.py', data_root, tmp / 'work')
    zf.dump(str(tmp / 'zf.py'))
    vgg = tiny_config('configs/faster_rcnn_vgg16_joint_voc.py', data_root, tmp / 'work', fc_width=8)
    return dict(tmp=tmp, data_root=data_root, config=str(tmp / 'zf.py'),
                zf_ckpt=save_checkpoint(zf, str(tmp / 'zf.pth')), vgg_ckpt=save_checkpoint(vgg, str(tmp / 'vgg.pth')))


def test_config_not_found_is_one_line_and_debug_shows_the_traceback():
    assert_one_line_error(run('tools/train.py', 'configs/nope.py'), 'config file not found: configs/nope.py')
    assert_one_line_error(run('tools/misc/check_dataset.py', 'configs/nope.py'), 'config file not found')
    debug = run('tools/train.py', 'configs/nope.py', '--debug')
    assert debug.returncode != 0 and 'Traceback' in debug.stderr and 'UserFileNotFoundError' in debug.stderr


def test_missing_or_unreadable_checkpoint(tiny):
    assert_one_line_error(run('tools/test.py', tiny['config'], str(tiny['tmp'] / 'none.pth')),
                          'checkpoint not found')
    garbage = tiny['tmp'] / 'garbage.pth'
    garbage.write_bytes(b'this is not a checkpoint')
    assert_one_line_error(run('tools/test.py', tiny['config'], str(garbage)),
                          'garbage.pth: not a checkpoint that can be loaded safely')


def test_checkpoint_of_another_model_is_refused_by_test_and_infer(tiny):
    """A VGG-16 checkpoint on a ZF config: mmengine would warn and evaluate a partly random model."""
    proc = run('tools/test.py', tiny['config'], tiny['vgg_ckpt'])
    assert_one_line_error(proc, 'vgg.pth does not fit the model of this config', 'mis-shaped weights:',
                          'missing weights: backbone.conv1.weight')
    image = osp.join(tiny['data_root'], 'VOC2007', 'JPEGImages', '000002.jpg')
    proc = run('tools/misc/infer.py', tiny['config'], tiny['vgg_ckpt'], image, '--out-dir', str(tiny['tmp'] / 'pics'))
    assert_one_line_error(proc, 'vgg.pth does not fit the model of this config', 'backbone.conv1.weight')


def test_missing_dataset_names_the_list_and_where_voc_goes(tiny):
    empty = tiny['tmp'] / 'empty'
    empty.mkdir()
    proc = run('tools/train.py', tiny['config'], '--work-dir', str(tiny['tmp'] / 'w'),
               '--cfg-options', f'train_dataloader.dataset.data_root={empty}/')
    assert_one_line_error(proc, 'ImageSets/Main/trainval.txt', 'Train on real PASCAL VOC')


def test_tta_with_our_tool_and_with_mmdets(tiny):
    """tools/test.py --tta and mmdet's own test.py --tta both run our config (random weights: the
    merge itself is checked on hand-made views in tests/.../test_time_augs)."""
    proc = run('tools/test.py', tiny['config'], tiny['zf_ckpt'], '--tta', '--work-dir', str(tiny['tmp'] / 't1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pascal_voc/mAP' in proc.stdout + proc.stderr
    import mmdet
    mmdet_test = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    proc = run(mmdet_test, tiny['config'], tiny['zf_ckpt'], '--tta', '--work-dir', str(tiny['tmp'] / 't2'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pascal_voc/mAP' in proc.stdout + proc.stderr


def crafted_checkpoint(path):
    """A pickle holding a global that torch's weights-only loader refuses (argparse.Namespace)."""
    torch.save({'state_dict': {}, 'meta': argparse.Namespace(x=1)}, path)
    return path


def copy_voc(tiny, name):
    root = tiny['tmp'] / name
    shutil.copytree(osp.dirname(osp.dirname(tiny['data_root'])), root)
    return osp.join(str(root), 'VOCdevkit') + '/', osp.join(str(root), 'VOCdevkit', 'VOC2007')


def test_every_tool_lists_debug_in_its_help(capsys):
    tools = sorted(osp.relpath(p, TOOLS)[:-3] for p in glob.glob(osp.join(TOOLS, '**', '*.py'), recursive=True))
    assert 'train' in tools and 'misc/infer' in tools and len(tools) >= 18
    for tool in tools:
        with pytest.raises(SystemExit):
            load_tool(tool).main(['--help'])
        assert '--debug' in capsys.readouterr().out, tool


def test_resume_from_a_missing_file_is_one_line(tiny):
    proc = run('tools/train.py', tiny['config'], '--resume', 'nope.pth', '--work-dir', str(tiny['tmp'] / 'w0'))
    assert_one_line_error(proc, '--resume: checkpoint not found: nope.pth')


def test_user_errors_of_train_and_test_are_one_line(tiny):
    """Refused checkpoints wherever they are named, a config key the class does not take, an unknown
    type, a work dir that is a file or cannot be made, and data that cannot train."""
    tmp, config = tiny['tmp'], tiny['config']
    crafted = crafted_checkpoint(str(tmp / 'crafted.pth'))
    work = str(tmp / 'w1')
    a_file = str(tmp / 'a_file')
    open(a_file, 'w').close()
    resumed = tmp / 'w_last'
    resumed.mkdir()
    (resumed / 'last_checkpoint').write_text(crafted)
    empty_root, empty_voc = copy_voc(tiny, 'no_objects')
    for xml in glob.glob(osp.join(empty_voc, 'Annotations', '*.xml')):
        text = open(xml).read()
        open(xml, 'w').write(text[:text.index('<object>')] + '</annotation>')
    bad_root, bad_voc = copy_voc(tiny, 'bad_images')
    ids = open(osp.join(bad_voc, 'ImageSets', 'Main', 'trainval.txt')).read().split()
    from PIL import Image
    first = osp.join(bad_voc, 'JPEGImages', f'{ids[0]}.jpg')
    image = Image.open(first)
    exif = Image.Exif()
    exif[0x0112] = 6  # decoded turned by 90 degrees, as by cv2.imread; annotated unturned
    image.save(first, exif=exif.tobytes())
    cut = osp.join(bad_voc, 'JPEGImages', 'cut.jpg')
    with open(first, 'rb') as f:
        head = f.read(200)
    with open(cut, 'wb') as f:
        f.write(head)
    shutil.copy(osp.join(bad_voc, 'Annotations', f'{ids[0]}.xml'), osp.join(bad_voc, 'Annotations', 'cut.xml'))
    with open(osp.join(bad_voc, 'ImageSets', 'Main', 'trainval.txt'), 'a') as f:
        f.write('cut\n')

    train = lambda *args: ('train', [config, *args])  # noqa: E731
    results = run_cases(
        train('--work-dir', work, '--cfg-options', 'model.backbone.typo_arg=1'),
        train('--work-dir', work, '--cfg-options', 'model.rpn_head.type=PaperRPNHeadd'),
        train('--work-dir', a_file),
        train('--work-dir', osp.join(a_file, 'sub')),
        train('--work-dir', work, '--cfg-options', f'load_from={crafted}'),
        train('--work-dir', str(resumed), '--resume'),
        train('--work-dir', work, '--cfg-options', 'model.init_cfg._delete_=True', 'model.init_cfg.type=Pretrained',
              f'model.init_cfg.checkpoint={crafted}'),
        train('--work-dir', work, '--cfg-options', f'train_dataloader.dataset.data_root={empty_root}'),
        train('--work-dir', work, '--cfg-options', f'train_dataloader.dataset.data_root={bad_root}'),
        ('test', [config, tiny['zf_ckpt'], '--work-dir', a_file]),
        ('test', [config, crafted, '--work-dir', work]),
        ('misc/check_dataset', [config, '--split', 'train', '--cfg-options',
                                f'train_dataloader.dataset.data_root={empty_root}']),
        ('misc/check_dataset', [config, '--split', 'train', '--cfg-options',
                                f'train_dataloader.dataset.data_root={bad_root}']))
    refused = 'crafted.pth: not a checkpoint that can be loaded safely'
    assert_one_line_error(results[0], 'config key model.backbone.typo_arg: ZFNet has no argument')
    assert_one_line_error(results[1], "config key model.rpn_head.type: 'PaperRPNHeadd' is not in the")
    assert_one_line_error(results[2], f'--work-dir {a_file} is an existing file')
    assert_one_line_error(results[3], f'{a_file} is an existing file, not a directory')  # a dir under a file
    for result in results[4:7]:  # load_from, last_checkpoint (--resume), init_cfg
        assert_one_line_error(result, refused, 'argparse.Namespace')
    assert_one_line_error(results[7], 'has an object to train on', 'ImageSets/Main/trainval.txt')
    assert_one_line_error(results[8], '2 of the', 'cannot be used as annotated', f'{first}: image is',
                          'EXIF orientation tag turns it', f'{cut}: cannot be read as an image')
    assert_one_line_error(results[9], f'--work-dir {a_file} is an existing file')
    assert_one_line_error(results[10], refused)
    # check_dataset agrees with training
    assert results[11].returncode == 1 and 'has an object to train on' in results[11].stdout
    assert results[12].returncode == 1, results[12].stdout + results[12].stderr
    assert 'ERRORS: size differs from the annotation (1)' in results[12].stdout and first in results[12].stdout
    assert 'ERRORS: unreadable image (1)' in results[12].stdout and cut in results[12].stdout


def test_infer_takes_folders_never_overwrites_and_names_unreadable_inputs(tiny):
    tmp = tiny['tmp']
    jpegs = osp.join(tiny['data_root'], 'VOC2007', 'JPEGImages')
    names = sorted(os.listdir(jpegs))
    for folder, name in (('a', names[0]), ('b', names[1])):
        os.makedirs(tmp / 'in' / folder, exist_ok=True)
        shutil.copy(osp.join(jpegs, name), tmp / 'in' / folder / '000001.jpg')  # same name, other picture
    shutil.copytree(jpegs, tmp / 'in' / 'c')
    (tmp / 'in' / 'notes.txt').write_text('not an image')
    (tmp / 'in' / 'empty.jpg').write_bytes(b'')

    def infer(*inputs, out):
        return 'misc/infer', [tiny['config'], tiny['zf_ckpt'], *map(str, inputs), '--out-dir', str(out)]

    ok, bad = run_cases(infer(tmp / 'in' / 'a' / '000001.jpg', tmp / 'in' / 'b' / '000001.jpg', tmp / 'in' / 'c',
                              out=tmp / 'pics'),
                        infer(tmp / 'in' / 'notes.txt', tmp / 'in' / 'empty.jpg', tmp / 'in' / 'a', out=tmp / 'pics2'))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.load(open(tmp / 'pics' / 'detections.json'))
    pictures = [item['picture'] for item in report]
    assert pictures[:2] == ['a/000001.png', 'b/000001.png']
    assert pictures[2:] == [f'c/{osp.splitext(n)[0]}.png' for n in names]
    assert all(osp.isfile(tmp / 'pics' / p) for p in pictures)
    assert open(tmp / 'pics' / 'a' / '000001.png', 'rb').read() != open(tmp / 'pics' / 'b' / '000001.png', 'rb').read()
    assert_one_line_error(bad, 'cannot read 2 of the 3 inputs as images', 'notes.txt (not a decodable image)',
                          'empty.jpg (empty file)')
