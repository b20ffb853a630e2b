"""The offline proposal files of 4-step alternating training (§3.2): written at the end of an RPN
stage that a later Fast R-CNN stage trains on, and handed to that stage.

A file belongs to the weights that made it: its meta records the stage, the iteration and a
fingerprint of the weights at the stage's end; the message hub (saved in every checkpoint) records
which fingerprint the run trained on (``run_record.PROPOSALS_KEY``). A file is used only when it
matches and its content reads back valid (``proposal_file.py``: finite, ordered corners;
``OfflineProposalsMixin``: every image of the dataset, boxes inside their images): at a stage's
end, while the producing weights are loaded, a bad or foreign file is regenerated; later (a
resume inside the Fast R-CNN stage) it is refused with one line naming it.
"""
import copy
import logging
import os.path as osp
from typing import Dict, List, Optional

from mmdet.registry import DATASETS
from mmengine.dist import barrier
from mmengine.logging import print_log

from ..datasets.offline_proposals_mixin import OfflineProposalsMixin
from ..datasets.proposal_file import read_proposal_meta
from ..utils.user_input_error import UserInputError
from .alternating_stages import StageSpec
from .run_record import PROPOSALS_KEY, proposal_file, stage_checkpoint_name, weights_fingerprint
from .runner.offline_proposals import generate_proposals


def leaf_datasets(dataset_cfg: dict, **updates) -> dict:
    """A copy of ``dataset_cfg`` with ``updates`` applied to every leaf dataset (through
    ConcatDataset / RepeatDataset ...); an update of None removes the key."""
    dataset_cfg = copy.deepcopy(dict(dataset_cfg))
    if 'datasets' in dataset_cfg:
        dataset_cfg['datasets'] = [leaf_datasets(d, **updates) for d in dataset_cfg['datasets']]
    elif 'dataset' in dataset_cfg:
        dataset_cfg['dataset'] = leaf_datasets(dataset_cfg['dataset'], **updates)
    else:
        for key, value in updates.items():
            if value is None:
                dataset_cfg.pop(key, None)
            else:
                dataset_cfg[key] = copy.deepcopy(value)
    return dataset_cfg


def _leaf_types(dataset_cfg: dict) -> List[str]:
    if 'datasets' in dataset_cfg:
        return [t for d in dataset_cfg['datasets'] for t in _leaf_types(d)]
    if 'dataset' in dataset_cfg:
        return _leaf_types(dataset_cfg['dataset'])
    return [dataset_cfg.get('type')]


def check_proposal_datasets(cfg) -> None:
    """Refuses a train / val dataset class without ``OfflineProposalsMixin`` (mmdet's own
    ``load_proposals`` unpickles the file; the mixin reads and checks our ``.npz``)."""
    for where in ('train_dataloader', 'val_dataloader'):
        loader = cfg.get(where)
        for name in _leaf_types(loader['dataset']) if loader else []:
            dataset_cls = DATASETS.get(name) if isinstance(name, str) else name
            if dataset_cls is None or not issubclass(dataset_cls, OfflineProposalsMixin):
                raise UserInputError(f'{where}: 4-step training reads offline proposals with a dataset '
                                     f'class that has OfflineProposalsMixin (PaperVOCDataset, '
                                     f'PaperCocoDataset), not {name}')


class ProposalStore:
    """The proposal files of one run (``<work_dir>/alternating/proposals``).

    Args:
        work_dir: the run's work dir.
        stages: the run's stages.
        datasets: ``{'train': dataset cfg, 'val': dataset cfg or None}`` the proposals are made for.
        pipelines: ``{'train': ..., 'val': ...}`` pipelines that load proposals (``LoadProposals``).
        proposal_pipeline: the test-style pipeline the RPN runs over the images with.
        rpn_cfgs: ``{'train': offline proposal settings, 'val': the model's test_cfg.rpn}``.
        num_workers: dataloader workers of the proposal runs.
    """

    def __init__(self, work_dir: str, stages: List[StageSpec], datasets: Dict[str, Optional[dict]],
                 pipelines: Dict[str, list], proposal_pipeline: list, rpn_cfgs: Dict[str, dict],
                 num_workers: int = 0) -> None:
        self.work_dir = work_dir
        self.stages = stages
        self.datasets = datasets
        self.pipelines = pipelines
        self.proposal_pipeline = proposal_pipeline
        self.rpn_cfgs = rpn_cfgs
        self.num_workers = num_workers

    def splits(self, rpn_stage: str) -> List[str]:
        """The splits a later stage needs from ``rpn_stage``: train, and val when evaluated."""
        users = [s for s in self.stages if s.mode == 'fast_rcnn' and s.proposals == rpn_stage]
        if not users:
            return []
        evaluated = any(s.evaluate for s in users) and self.datasets.get('val') is not None
        return ['train', 'val'] if evaluated else ['train']

    def dataset(self, split: str, path: str) -> dict:
        """The ``split`` dataset cfg reading its proposals from ``path``."""
        return leaf_datasets(self.datasets[split], proposal_file=osp.abspath(path), pipeline=self.pipelines[split])

    def problem(self, path: str, split: str, stage: str, fingerprint: Optional[str]) -> Optional[str]:
        """Why ``path`` cannot serve as the ``split`` proposals of ``stage`` made by the weights
        ``fingerprint``; None when it can."""
        if fingerprint is None or not osp.isfile(path):
            return f'{path} is missing'
        try:
            meta = read_proposal_meta(path)
            if (meta.get('stage'), meta.get('weights')) != (stage, fingerprint):
                return f"{path} was made by other weights (stage {meta.get('stage')!r}, {meta.get('weights')})"
            DATASETS.build(leaf_datasets(self.dataset(split, path), pipeline=[]))  # reads and checks it
        except UserInputError as e:
            return str(e)
        return None

    def write(self, runner, model, stage: StageSpec) -> None:
        """At the end of the RPN stage ``stage``, with its final weights loaded: its proposal
        files, kept only if they were made by these very weights and read back valid."""
        splits = self.splits(stage.name)
        if stage.mode != 'rpn' or not splits:
            return
        fingerprint = weights_fingerprint(model.state_dict())
        meta = dict(stage=stage.name, iter=stage.end, weights=fingerprint)
        problems = {split: self.problem(proposal_file(self.work_dir, stage.name, split), split, stage.name,
                                        fingerprint) for split in splits}
        barrier()  # every process has decided before any file is rewritten
        for split, problem in problems.items():
            path = proposal_file(self.work_dir, stage.name, split)
            if problem is None:
                print_log(f"Reusing the {split}-set proposals of stage '{stage.name}' (same weights, "
                          f'checked): {path}', logger='current')
                continue
            if osp.isfile(path):
                print_log(f'{problem}: regenerating it', logger='current', level=logging.WARNING)
            dataloader = dict(batch_size=1, num_workers=self.num_workers, persistent_workers=False,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              dataset=leaf_datasets(self.datasets[split], pipeline=self.proposal_pipeline,
                                                    test_mode=True, proposal_file=None))
            generate_proposals(runner, dataloader, self.rpn_cfgs[split], path,
                               f"{dict(train='training', val='val')[split]}-set proposals of stage '{stage.name}'", meta)
        made = dict(runner.message_hub.get_info(PROPOSALS_KEY) or {})
        made[stage.name] = fingerprint
        runner.message_hub.update_info(PROPOSALS_KEY, made)

    def files_for(self, runner, stage: StageSpec) -> Dict[str, Optional[str]]:
        """The proposal files the Fast R-CNN stage ``stage`` trains / evaluates on, which must come
        from the weights its source stage ended with in this run (recorded in the message hub)."""
        source = next(s for s in self.stages if s.name == stage.proposals)
        fingerprint = (runner.message_hub.get_info(PROPOSALS_KEY) or {}).get(source.name)
        out = dict(train=None, val=None)
        for split in self.splits(source.name):
            path = proposal_file(self.work_dir, source.name, split)
            problem = self.problem(path, split, source.name, fingerprint)
            if problem is not None:
                raise UserInputError(
                    f'{problem}; stage {stage.name!r} trains on the proposals of stage {source.name!r} '
                    f'as made by the weights that stage ended with in this run, which are no longer '
                    f'loaded; resume from the checkpoint at the end of stage {source.name!r} '
                    f'({stage_checkpoint_name(source.end)}) to regenerate them')
            out[split] = path
        return out
