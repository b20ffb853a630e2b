"""README.md and docs/*.md: every command runs as written (tools exist and accept the flags used,
paths exist, make targets exist) and every config snippet loads (``docs_commands.py``)."""
from tests.docs.docs_commands import problems


def test_readme_and_docs_commands_and_snippets_are_valid():
    found = problems()
    assert not found, 'README/docs out of date:\n' + '\n'.join(found)


def test_the_check_fails_on_a_renamed_flag_a_moved_file_and_a_bad_snippet(tmp_path):
    """The checker itself: a markdown file with one mistake per line is reported line by line."""
    page = tmp_path / 'page.md'
    page.write_text('\n'.join([
        '```bash',
        'python tools/train.py configs/faster_rcnn_zf_voc.py --work-dirr out',   # renamed flag
        'python tools/misc/check_dataset.py configs/no_such_config.py',          # moved/missing file
        'tools/test.py configs/faster_rcnn_zf_voc.py ckpt.pth',                   # no run bit
        'make tests',                                                             # no such target
        'python tools/train.py configs/faster_rcnn_zf_voc.py --work-dir out --cfg-options a=1',  # fine
        '```',
        '',
        '```python',
        "_base_ = ['./no_such_base.py']",
        '```',
        '']))
    found = problems([str(page)])
    text = '\n'.join(found)
    assert 'page.md:2: tools/train.py does not accept' in text and '--work-dirr' in text, text
    assert 'page.md:3: no such file in the repository: configs/no_such_config.py' in text, text
    assert 'page.md:4: tools/test.py run without python' in text, text
    assert "page.md:5: make: no target 'tests'" in text, text
    assert 'page.md:10: config snippet does not load' in text, text
    assert len(found) == 5, text
