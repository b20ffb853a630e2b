"""The size of an image as training decodes it, checked against its annotation before training.

Training decodes images with mmcv's ``LoadImageFromFile`` (``mmcv.imfrombytes``; our configs: colour,
the cv2 backend, i.e. ``cv2.imdecode(IMREAD_COLOR)``), which, as py-faster-rcnn's ``cv2.imread``
(OpenCV >= 3.1), turns a JPEG by its EXIF orientation tag. An annotation tool that shows the
stored pixels (LabelImg, for one) writes boxes and ``<size>`` for the unturned image, so a turned
image would train with misplaced boxes. :func:`decoded_image_size` tells the size the decoder gives
without decoding most images: the file header's size when the image has no orientation tag (or the
loader ignores it); a full decode, with the loader's own settings, otherwise and whenever the header
cannot be read. An empty or undecodable file is an :class:`UnreadableImageError`.
"""
from typing import Optional, Tuple

import mmcv
from mmengine.fileio import get
from PIL import Image

from ..utils.user_input_error import UserInputError

#: The EXIF tag holding the orientation (1: stored as shown).
EXIF_ORIENTATION = 0x0112
#: Orientations that keep the width and height (mirrored, turned by 180 degrees, or both).
MIRRORING_ORIENTATIONS = (2, 3, 4)


class UnreadableImageError(UserInputError):
    """An image file that is empty or cannot be decoded."""


class ImageSizeMismatchError(UserInputError):
    """An image that decodes to another size than its annotation's ``<size>``."""


def loading_args(pipeline) -> dict:
    """``color_type``, ``imdecode_backend`` and ``backend_args`` of the first ``LoadImageFromFile``
    in ``pipeline`` (built transforms or config dicts); mmcv's defaults without one."""
    from mmcv.transforms import LoadImageFromFile
    for transform in getattr(pipeline, 'transforms', pipeline) or []:
        if isinstance(transform, LoadImageFromFile):
            return dict(color_type=transform.color_type, imdecode_backend=transform.imdecode_backend,
                        backend_args=transform.backend_args)
        if isinstance(transform, dict) and transform.get('type') in ('LoadImageFromFile', 'mmdet.LoadImageFromFile'):
            return dict(color_type=transform.get('color_type', 'color'),
                        imdecode_backend=transform.get('imdecode_backend', 'cv2'),
                        backend_args=transform.get('backend_args', None))
    return dict(color_type='color', imdecode_backend='cv2', backend_args=None)


def _header(img_path: str) -> Optional[Tuple[int, int, int]]:
    """(width, height, EXIF orientation) from the file header, None if Pillow cannot read it."""
    try:
        with Image.open(img_path) as image:
            return (*image.size, int(image.getexif().get(EXIF_ORIENTATION, 1) or 1))
    except Exception:  # noqa: BLE001 (any header Pillow cannot read: the decoder decides)
        return None


def decoded_image_size(img_path: str, color_type: str = 'color', imdecode_backend: str = 'cv2',
                       backend_args: Optional[dict] = None) -> Tuple[int, int, int]:
    """(width, height, orientation) of the local image ``img_path`` as ``LoadImageFromFile`` with
    these settings decodes it; ``orientation`` is the EXIF orientation tag (1 without one, or when
    the loader ignores it). :class:`UnreadableImageError` naming the file when it is empty or
    undecodable."""
    header = _header(img_path)
    ignores_tag = 'ignore_orientation' in color_type
    if header is not None and (header[2] == 1 or ignores_tag):
        return header[0], header[1], 1
    content = get(img_path, backend_args=backend_args)
    if not content:
        raise UnreadableImageError(f'{img_path}: cannot be read as an image (empty file)')
    try:
        image = mmcv.imfrombytes(content, flag=color_type, backend=imdecode_backend)
    except Exception as error:  # noqa: BLE001 (a decoder error on the file's content)
        reason = ' '.join(str(error).split())
        raise UnreadableImageError(f'{img_path}: cannot be read as an image ({reason})') from error
    if image is None:
        raise UnreadableImageError(f'{img_path}: cannot be read as an image (the decoder returned nothing)')
    return image.shape[1], image.shape[0], header[2] if header is not None and not ignores_tag else 1


def check_decoded_size(img_path: str, xml_path: str, width: int, height: int, **loading) -> Optional[str]:
    """:class:`ImageSizeMismatchError` when ``img_path`` decodes to another size than ``width`` x
    ``height`` (the annotation's ``<size>``), :class:`UnreadableImageError` when it does not decode.
    Returns a warning when an EXIF orientation tag mirrors or turns the image by 180 degrees, which
    the size cannot reveal."""
    decoded_width, decoded_height, orientation = decoded_image_size(img_path, **loading)
    if (decoded_width, decoded_height) != (width, height):
        turned = (decoded_width, decoded_height) == (height, width)
        raise ImageSizeMismatchError(
            f'{img_path}: image is {decoded_width}x{decoded_height} as decoded but the annotation says '
            f'{width}x{height} ({xml_path}); its boxes would be misplaced'
            + ('. Its EXIF orientation tag turns it (as cv2.imread in py-faster-rcnn) while the annotation '
               'is of the stored pixels: remove the tag (e.g. exiftool -Orientation= FILE) or turn image and '
               'annotation together' if turned else '. Fix <size> and the boxes, or the image'))
    if orientation in MIRRORING_ORIENTATIONS:
        return (f'{img_path}: its EXIF orientation tag ({orientation}) mirrors or turns it by 180 degrees as it '
                'is decoded (as cv2.imread in py-faster-rcnn); its boxes must be drawn on the image so shown')
    return None
