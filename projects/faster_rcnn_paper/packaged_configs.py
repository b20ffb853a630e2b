"""The paper configs inside the installed package, for configs that inherit them without a clone.

``setup.py`` places the repository's ``configs/`` in the package as ``faster_rcnn_paper/.mim/configs``
(the layout of MMDetection's ``add_mim_extension``, which makes ``mmdet::`` bases work). A team's
config inherits one with::

    _base_ = [__import__('faster_rcnn_paper').config_path('faster_rcnn_vgg16_voc.py')]

which works in any tool that loads configs with MMEngine (ours, MMDetection's ``tools/train.py``)
and mixes with ``mmdet::`` bases in the same list. Why not ``faster_rcnn_paper::…``: MMEngine 0.10
resolves ``pkg::`` only for the packages of its fixed ``MODULE2PACKAGE`` table and reads ``_base_``
before ``custom_imports`` runs; but it evaluates the ``_base_`` expression as Python, so a call that
returns an absolute path works everywhere. In a source checkout (editable install, or
``PYTHONPATH=projects``) the repository's ``configs/`` is used.

This module imports only the standard library (``setup.py`` reads :data:`PACKAGED_CONFIGS_DIR`).
"""
import os.path as osp

#: Where setup.py puts configs/, relative to the package folder.
PACKAGED_CONFIGS_DIR = osp.join('.mim', 'configs')

_PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def configs_root() -> str:
    """The folder of the paper configs: the installed package's copy, else the source checkout's."""
    installed = osp.join(_PACKAGE_DIR, PACKAGED_CONFIGS_DIR)
    if osp.isdir(installed):
        return installed
    return osp.join(osp.dirname(osp.dirname(_PACKAGE_DIR)), 'configs')  # <repo>/projects/<pkg>


def config_path(name: str) -> str:
    """The absolute path of a paper config, ``name`` relative to ``configs/`` (e.g.
    ``'faster_rcnn_vgg16_voc.py'``, ``'_base_/models/faster_rcnn_zf.py'``), for ``_base_``.

    Raises:
        UserFileNotFoundError: no such config (the message lists the folder searched).
    """
    path = osp.join(configs_root(), name)
    if not osp.isfile(path):
        from .utils.user_input_error import UserFileNotFoundError
        raise UserFileNotFoundError(f'config_path({name!r}): no such config in {configs_root()} (names are '
                                    "relative to the repository's configs/, e.g. 'faster_rcnn_vgg16_voc.py')")
    return path
