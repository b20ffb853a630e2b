"""MMEngine's ``LocalVisBackend`` writing valid JSON: a NaN or infinite scalar becomes ``null``.

The JSON log (``<work_dir>/<timestamp>/vis_data/scalars.json`` and ``<timestamp>.json``, one object
per logged iteration) gets every loss key in every line (``StageLogProcessor``: a step of 4-step
training does not compute the other steps' losses; such a value is NaN), and a diverged loss is NaN
or infinite too. Python's ``json`` writes those as the bare literals ``NaN`` / ``Infinity``, which
strict parsers (JavaScript's ``JSON.parse``, jq, most other languages) reject. Written as ``null``,
the file is valid JSON; mmdet's ``tools/analysis_tools/analyze_logs.py plot_curve`` still plots it
(numpy turns ``None`` into NaN, drawn as a gap), and the other backends (TensorBoard, ...) still get
the NaN.
"""
import math

import numpy as np
from mmdet.registry import VISBACKENDS
from mmengine.visualization import LocalVisBackend


def finite_or_none(value):
    """``value`` with every NaN or infinite float (also inside dicts and lists) replaced by None."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


@VISBACKENDS.register_module()
class StrictJsonLocalVisBackend(LocalVisBackend):
    """``LocalVisBackend`` whose scalar files are strict JSON (non-finite numbers as ``null``)."""

    def _dump(self, value_dict: dict, file_path: str, file_format: str) -> None:
        super()._dump(finite_or_none(value_dict), file_path, file_format)
