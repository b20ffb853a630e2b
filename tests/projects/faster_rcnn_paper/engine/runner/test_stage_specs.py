"""Stage specs of AlternatingTrainLoop: accepted forms and clear errors for bad ones."""
import pytest

from faster_rcnn_paper.engine.runner.alternating_train_loop import AlternatingTrainLoop

check = AlternatingTrainLoop._check_stages


def test_dict_and_list_forms_agree():
    as_dict = check(dict(a=dict(mode='rpn', max_iters=2), b=dict(mode='fast_rcnn', max_iters=3)))
    as_list = check([dict(name='a', mode='rpn', max_iters=2), dict(name='b', mode='fast_rcnn', max_iters=3)])
    assert as_dict == as_list
    assert as_dict[1]['proposals'] == 'a' and as_dict[1]['evaluate'] is True
    assert as_dict[0]['frozen'] == [] and as_dict[0]['reset'] == []


@pytest.mark.parametrize('stages,message', [
    (dict(a=dict(mode='rpn', max_iters=2, lr=0.1)), r"unknown keys \['lr'\]"),
    (dict(a=dict(max_iters=2)), "missing 'mode'"),
    (dict(a=dict(mode='joint', max_iters=2)), "mode must be 'rpn' or 'fast_rcnn'"),
    (dict(a=dict(mode='rpn', max_iters=0)), 'max_iters must be a positive int'),
    (dict(a=dict(mode='fast_rcnn', max_iters=2)), 'needs an earlier rpn stage'),
    (dict(a=dict(mode='rpn', max_iters=2), b=dict(mode='fast_rcnn', max_iters=2, proposals='c')),
     "proposals='c' names no earlier rpn stage"),
    ([dict(name='a', mode='rpn', max_iters=2), dict(name='a', mode='rpn', max_iters=2)],
     "duplicate stage name 'a'"),
    (dict(a=dict(name='b', mode='rpn', max_iters=2)), "its name is 'b'"),
    ({}, 'stages is empty'),
])
def test_bad_specs(stages, message):
    with pytest.raises(ValueError, match=message):
        check(stages)
