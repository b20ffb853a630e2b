"""Test-time augmentation with a horizontal flip, merged by the detector's own per-class NMS.

The paper (and py-faster-rcnn's ``test_net``) tests on the image as it is; test-time flipping is an
MMDetection option (``tools/test.py --tta``). This model runs the detector on the image and on its
mirror image, un-flips the second view's boxes into the image's coordinates, and merges the union of
both views per class with the **test NMS of the config** (``model.test_cfg.rcnn``: IoU 0.3, at most
100 detections, as py-faster-rcnn's ``TEST.NMS`` / ``max_per_image``), i.e. as the detector merges
the class-specific boxes of one view. mmdet's ``DetTTAModel`` does the same with its own NMS settings;
what differs here:

* the sample kept for the merged result (its ground truth and meta, which ``VOCMetric`` evaluates
  against) is the **unflipped** view whatever the order of the views (mmdet keeps the first view:
  with its default pipeline, flipped first, the metric sees mirrored ground truth: mAP 0);
* the un-flip follows the flip convention of the data pipeline: ``flip_offset=0`` for mmdet's
  ``RandomFlip`` (``x' = W - x``), ``flip_offset=1`` for py-faster-rcnn's flip of inclusive pixel
  boxes (``x1' = W - x2 - 1``, ``x2' = W - x1 - 1``);
* without ``tta_cfg`` the merge uses the wrapped detector's ``test_cfg.rcnn`` (``nms``,
  ``max_per_img``), so the paper's test NMS appears in the config once.
"""
from typing import List, Optional, Tuple

import torch
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from torch import Tensor


@MODELS.register_module()
class PaperDetTTAModel(DetTTAModel):
    """mmdet's ``DetTTAModel`` for horizontal-flip TTA: keeps the unflipped view's sample, un-flips
    with ``flip_offset`` and merges with the detector's test NMS unless ``tta_cfg`` is given.

    Args:
        module (dict | nn.Module): the detector.
        flip_offset (int): 0 when the pipeline flips boxes as mmdet (``x' = W - x``), 1 when as
            py-faster-rcnn (``x' = W - 1 - x``, inclusive pixel boxes).
        tta_cfg (dict, optional): ``nms`` and ``max_per_img`` of the merge; defaults to the
            detector's ``test_cfg.rcnn``.
    """

    def __init__(self, module, flip_offset: int = 0, tta_cfg: Optional[dict] = None, **kwargs) -> None:
        if flip_offset not in (0, 1):
            raise ValueError(f'flip_offset must be 0 (mmdet RandomFlip) or 1 (py-faster-rcnn), got {flip_offset!r}')
        super().__init__(module=module, tta_cfg=tta_cfg, **kwargs)
        self.flip_offset = flip_offset
        if self.tta_cfg is None:
            rcnn = self.module.test_cfg.rcnn
            self.tta_cfg = ConfigDict(nms=rcnn.nms, max_per_img=rcnn.max_per_img)

    def merge_aug_bboxes(self, aug_bboxes: List[Tensor], aug_scores: List[Tensor],
                         img_metas: List[dict]) -> Tuple[Tensor, Tensor]:
        """Boxes of every view in the original image's coordinates, and their scores."""
        recovered = []
        for bboxes, meta in zip(aug_bboxes, img_metas):
            if meta.get('flip', False):
                if meta.get('flip_direction') != 'horizontal':
                    raise ValueError(f"{type(self).__name__} un-flips horizontal flips only, got "
                                     f"{meta.get('flip_direction')!r}")
                width = meta['ori_shape'][1]
                unflipped = bboxes.clone()
                unflipped[:, 0::4] = width - self.flip_offset - bboxes[:, 2::4]
                unflipped[:, 2::4] = width - self.flip_offset - bboxes[:, 0::4]
                bboxes = unflipped
            recovered.append(bboxes)
        return torch.cat(recovered, dim=0), torch.cat(aug_scores, dim=0)

    def _merge_single_sample(self, data_samples: List[DetDataSample]) -> DetDataSample:
        """Merge the views of one image into the unflipped view's sample."""
        unflipped = [s for s in data_samples if not s.metainfo.get('flip', False)]
        if not unflipped:
            raise ValueError(f'{type(self).__name__}: no unflipped view of {data_samples[0].metainfo.get("img_path")} '
                             f'(the TTA pipeline must include RandomFlip with prob=0)')
        first = unflipped[0]
        ordered = [first] + [s for s in data_samples if s is not first]
        return super()._merge_single_sample(ordered)
