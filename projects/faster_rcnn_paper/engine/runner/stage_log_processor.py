"""Training log lines that name the current step of 4-step alternating training.

MMEngine's ``LogProcessor`` prints ``Iter(train) [k/total] lr ... losses``. During
:class:`AlternatingTrainingHook` runs this processor adds the stage name, which the hook keeps in the
message hub (``alternating_stage``): ``Iter(train) [step2_fast_rcnn] [k/total] ...``. Outside such
runs it is the stock processor.

Each step computes other losses (the RPN steps ``loss_rpn_*``, the Fast R-CNN steps ``loss_cls``,
``loss_bbox``, ``acc``). ``keys_in_every_line`` lists scalars that every line of the JSON log gets,
NaN where the current step does not compute them (``null`` in the JSON file:
``StrictJsonLocalVisBackend``), so that every line has the same keys: mmdet's
``tools/analysis_tools/analyze_logs.py plot_curve --keys loss_cls`` needs that (it pairs the n-th
value of a key with the n-th logged iteration) and draws the missing values as gaps.
"""
from typing import Sequence

from mmdet.registry import LOG_PROCESSORS
from mmengine.runner import LogProcessor

from ..run_record import STAGE_KEY


@LOG_PROCESSORS.register_module()
class StageLogProcessor(LogProcessor):

    def __init__(self, *args, keys_in_every_line: Sequence[str] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keys_in_every_line = tuple(keys_in_every_line)

    def get_log_after_iter(self, runner, batch_idx: int, mode: str):
        tag, log_str = super().get_log_after_iter(runner, batch_idx, mode)
        stage = runner.message_hub.get_info(STAGE_KEY)
        if mode == 'train' and stage is not None:
            log_str = log_str.replace('Iter(train) ', f'Iter(train) [{stage}] ', 1)
        if mode == 'train':
            for key in self.keys_in_every_line:
                tag.setdefault(key, float('nan'))
        return tag, log_str
