"""Writes ``.caffemodel`` files for tests, byte by byte in protobuf's wire format, independently of
the reader under test (faster_rcnn_paper.model_converters.caffemodel, which uses the protobuf
package). Field numbers are Caffe's ``src/caffe/proto/caffe.proto``; packed fields are written
packed, as Caffe writes them.
"""
from typing import Dict, List, Sequence

import numpy as np

VARINT, LENGTH_DELIMITED = 0, 2
V1_CONVOLUTION = 4  # V1LayerParameter.LayerType.CONVOLUTION (any value will do for the reader)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _delimited(number: int, payload: bytes) -> bytes:
    return _key(number, LENGTH_DELIMITED) + _varint(len(payload)) + payload


def blob_proto(array: np.ndarray, legacy_dims: bool = False, double: bool = False) -> bytes:
    """A BlobProto: ``shape`` (7) with packed ``dim`` (1), or legacy num/channels/height/width (1-4,
    the shape left-padded with ones to 4-D); values as packed ``data`` (5, float32) or
    ``double_data`` (8, float64)."""
    out = b''
    if legacy_dims:
        dims = (1, ) * (4 - array.ndim) + array.shape
        for number, dim in enumerate(dims, start=1):
            out += _key(number, VARINT) + _varint(dim)
    else:
        out += _delimited(7, _delimited(1, b''.join(_varint(d) for d in array.shape)))
    if double:
        out += _delimited(8, np.ascontiguousarray(array, dtype='<f8').tobytes())
    else:
        out += _delimited(5, np.ascontiguousarray(array, dtype='<f4').tobytes())
    return out


def layer(name: str, blobs: Sequence[np.ndarray], v1: bool = False, **blob_kwargs) -> bytes:
    """A LayerParameter (name 1, type 2, blobs 7) or V1LayerParameter (name 4, type 5, blobs 6)."""
    encoded = [blob_proto(b, **blob_kwargs) for b in blobs]
    if v1:
        return (_delimited(4, name.encode()) + _key(5, VARINT) + _varint(V1_CONVOLUTION)
                + b''.join(_delimited(6, b) for b in encoded))
    return (_delimited(1, name.encode()) + _delimited(2, b'Convolution')
            + b''.join(_delimited(7, b) for b in encoded))


def write_caffemodel(path, layers: Dict[str, List[np.ndarray]], v1: bool = False, **blob_kwargs) -> None:
    """A NetParameter (name 1) with ``layers`` as ``layer`` (100) or, ``v1``, ``layers`` (2) entries,
    plus a parameter-free ReLU layer that readers must skip."""
    body = _delimited(1, b'test_net')
    relu = layer('relu1', [], v1=v1)
    for i, (name, blobs) in enumerate(layers.items()):
        entry = layer(name, blobs, v1=v1, **blob_kwargs)
        body += _delimited(2 if v1 else 100, entry)
        if i == 0:
            body += _delimited(2 if v1 else 100, relu)
    with open(path, 'wb') as file:
        file.write(body)
