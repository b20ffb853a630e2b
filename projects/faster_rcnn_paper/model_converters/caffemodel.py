"""Reading Caffe ``.caffemodel`` files without Caffe: layer names and parameter blobs.

py-faster-rcnn initialises its networks from ImageNet classifiers stored as Caffe models
(``data/imagenet_models/{ZF,VGG16}.v2.caffemodel``, fetched by its
``data/scripts/fetch_imagenet_models.sh``; §4 of the paper: "initialized by pre-training a model for
ImageNet classification"). A ``.caffemodel`` is one serialised protobuf message ``caffe.NetParameter``
(Caffe's ``src/caffe/proto/caffe.proto``). This module declares the few fields of it that hold the
weights, as a ``FileDescriptorProto`` built in Python (no ``protoc``, no generated ``caffe_pb2``),
and parses the file with the ``protobuf`` package; every other field is skipped as unknown:

* ``NetParameter``: ``layer = 100`` (``LayerParameter``) and the deprecated ``layers = 2``
  (``V1LayerParameter``, the format of models saved before 2015);
* ``LayerParameter``: ``name = 1``, ``type = 2`` (a string), ``blobs = 7``;
  ``V1LayerParameter``: ``name = 4``, ``type = 5`` (an enum, kept as its number), ``blobs = 6``;
* ``BlobProto``: ``shape = 7`` (``BlobShape``: ``dim = 1``, packed int64), ``data = 5`` (packed
  float), ``double_data = 8`` (packed double) and the legacy 4-D ``num = 1``, ``channels = 2``,
  ``height = 3``, ``width = 4`` used when ``shape`` is absent.

The message classes live in a private descriptor pool, so they never clash with a ``caffe_pb2`` that
the user's process may also import.
"""
import os
from functools import lru_cache
from typing import Dict, List, Union

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

CAFFEMODEL_SUFFIX = '.caffemodel'

_FIELD = descriptor_pb2.FieldDescriptorProto
# (message, [(field name, number, type, label, message type or None, packed)])
_CAFFE_MESSAGES = [
    ('BlobShape', [('dim', 1, _FIELD.TYPE_INT64, _FIELD.LABEL_REPEATED, None, True)]),
    ('BlobProto', [
        ('shape', 7, _FIELD.TYPE_MESSAGE, _FIELD.LABEL_OPTIONAL, 'BlobShape', False),
        ('data', 5, _FIELD.TYPE_FLOAT, _FIELD.LABEL_REPEATED, None, True),
        ('double_data', 8, _FIELD.TYPE_DOUBLE, _FIELD.LABEL_REPEATED, None, True),
        ('num', 1, _FIELD.TYPE_INT32, _FIELD.LABEL_OPTIONAL, None, False),
        ('channels', 2, _FIELD.TYPE_INT32, _FIELD.LABEL_OPTIONAL, None, False),
        ('height', 3, _FIELD.TYPE_INT32, _FIELD.LABEL_OPTIONAL, None, False),
        ('width', 4, _FIELD.TYPE_INT32, _FIELD.LABEL_OPTIONAL, None, False),
    ]),
    ('LayerParameter', [
        ('name', 1, _FIELD.TYPE_STRING, _FIELD.LABEL_OPTIONAL, None, False),
        ('type', 2, _FIELD.TYPE_STRING, _FIELD.LABEL_OPTIONAL, None, False),
        ('blobs', 7, _FIELD.TYPE_MESSAGE, _FIELD.LABEL_REPEATED, 'BlobProto', False),
    ]),
    ('V1LayerParameter', [
        ('name', 4, _FIELD.TYPE_STRING, _FIELD.LABEL_OPTIONAL, None, False),
        ('type', 5, _FIELD.TYPE_INT32, _FIELD.LABEL_OPTIONAL, None, False),
        ('blobs', 6, _FIELD.TYPE_MESSAGE, _FIELD.LABEL_REPEATED, 'BlobProto', False),
    ]),
    ('NetParameter', [
        ('name', 1, _FIELD.TYPE_STRING, _FIELD.LABEL_OPTIONAL, None, False),
        ('layer', 100, _FIELD.TYPE_MESSAGE, _FIELD.LABEL_REPEATED, 'LayerParameter', False),
        ('layers', 2, _FIELD.TYPE_MESSAGE, _FIELD.LABEL_REPEATED, 'V1LayerParameter', False),
    ]),
]


@lru_cache(maxsize=None)
def net_parameter_class() -> type:
    """The protobuf message class of ``caffe.NetParameter`` (the subset in the module docstring)."""
    file_proto = descriptor_pb2.FileDescriptorProto(
        name='faster_rcnn_paper/caffe_weights.proto', package='caffe', syntax='proto2')
    for message_name, fields in _CAFFE_MESSAGES:
        message = file_proto.message_type.add(name=message_name)
        for name, number, field_type, label, type_name, packed in fields:
            field = message.field.add(name=name, number=number, type=field_type, label=label)
            if type_name is not None:
                field.type_name = f'.caffe.{type_name}'
            if packed:
                field.options.packed = True
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName('caffe.NetParameter'))


def _blob_array(blob, where: str) -> np.ndarray:
    """One ``BlobProto`` as a float32 array of its shape (``shape.dim``, else legacy num/c/h/w)."""
    if blob.HasField('shape'):
        shape = tuple(blob.shape.dim)
    else:
        shape = (blob.num, blob.channels, blob.height, blob.width)
    values = blob.data if len(blob.data) else blob.double_data
    if len(values) != int(np.prod(shape)):
        raise ValueError(f'{where}: {len(values)} values for a blob of shape {shape}')
    # np.array reads upb's repeated field in bulk (~3 ms per million values; np.fromiter: ~55 ms).
    return np.array(values, dtype=np.float32).reshape(shape)


def read_caffemodel(path: Union[str, os.PathLike]) -> Dict[str, List[np.ndarray]]:
    """The parameter blobs of every layer that has some, in file order: ``{layer name: [blob, ...]}``
    (Caffe's order: weight, then bias), float32 arrays in Caffe's blob shapes.

    Reads both ``layer`` (current) and ``layers`` (V1) entries.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a ``NetParameter``, holds no layer with blobs, names a layer
            twice, or a blob's value count does not match its shape.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: no such file')
    with open(path, 'rb') as file:
        content = file.read()
    net = net_parameter_class()()
    try:
        net.ParseFromString(content)
    except DecodeError as exc:
        raise ValueError(f'{path}: not a Caffe model (a caffe.NetParameter protobuf): {exc}') from exc
    del content
    blobs = {}
    for layer in list(net.layer) + list(net.layers):
        if not layer.blobs:
            continue
        if layer.name in blobs:
            raise ValueError(f'{path}: layer {layer.name!r} appears twice')
        blobs[layer.name] = [
            _blob_array(blob, f'{path}: layer {layer.name!r}, blob {i}') for i, blob in enumerate(layer.blobs)]
    if not blobs:
        raise ValueError(f'{path}: no layer with parameter blobs (is it a Caffe model, not a prototxt?)')
    return blobs
