"""Training log lines that name the current step of 4-step alternating training.

MMEngine's ``LogProcessor`` prints ``Iter(train) [k/total] lr ... losses``. During
:class:`AlternatingTrainingHook` runs this processor adds the stage name, which the hook keeps in the
message hub (``alternating_stage``): ``Iter(train) [step2_fast_rcnn] [k/total] ...``. Outside such
runs it is the stock processor.
"""
from mmdet.registry import LOG_PROCESSORS
from mmengine.runner import LogProcessor


@LOG_PROCESSORS.register_module()
class StageLogProcessor(LogProcessor):

    def get_log_after_iter(self, runner, batch_idx: int, mode: str):
        tag, log_str = super().get_log_after_iter(runner, batch_idx, mode)
        stage = runner.message_hub.get_info('alternating_stage')
        if mode == 'train' and stage is not None:
            log_str = log_str.replace('Iter(train) ', f'Iter(train) [{stage}] ', 1)
        return tag, log_str
