"""The few TensorBoard protobuf messages the reader decodes, declared here for ``protobuf`` alone.

Why not ``tensorboard.compat.proto``: that needs the whole ``tensorboard`` package (an optional
extra), and the sidebar must work with the package's core dependencies. Why not a hand-written wire
decoder: ``protobuf`` (a core dependency) already decodes robustly; we only declare the subset of
TensorBoard's schema we read, with TensorBoard's field numbers, so the bytes parse identically.
Unknown fields (images, histograms, graphs, ...) are skipped by protobuf as usual.

Messages (field numbers from tensorboard/compat/proto/{event,summary,tensor,tensor_shape}.proto and
tensorboard/plugins/hparams/{plugin_data,api}.proto): ``Event``, ``Summary``, ``SummaryMetadata``,
``TensorProto`` and ``HParamsPluginData``.
"""

from __future__ import annotations

import functools

import numpy as np

_PACKAGE = "attn_widget.tb"  # private names: no clash with tensorboard's own protos if loaded too

# (name, number, type, label, message type or None); types/labels are FieldDescriptorProto enums.
_DOUBLE, _FLOAT, _INT64, _INT32, _BOOL, _STRING, _MESSAGE, _BYTES = 1, 2, 3, 5, 8, 9, 11, 12
_OPT, _REP = 1, 3

_MESSAGES: dict[str, list[tuple]] = {
    "Event": [("wall_time", 1, _DOUBLE, _OPT, None), ("step", 2, _INT64, _OPT, None),
              ("summary", 5, _MESSAGE, _OPT, "Summary")],
    "Summary": [("value", 1, _MESSAGE, _REP, "SummaryValue")],
    # oneof "value": simple_value, tensor (image/histo/audio are left unknown and skipped)
    "SummaryValue": [("tag", 1, _STRING, _OPT, None), ("simple_value", 2, _FLOAT, _OPT, None),
                     ("tensor", 8, _MESSAGE, _OPT, "TensorProto"), ("metadata", 9, _MESSAGE, _OPT, "SummaryMetadata")],
    "SummaryMetadata": [("plugin_data", 1, _MESSAGE, _OPT, "PluginData")],
    "PluginData": [("plugin_name", 1, _STRING, _OPT, None), ("content", 2, _BYTES, _OPT, None)],
    "TensorProto": [("dtype", 1, _INT32, _OPT, None), ("tensor_shape", 2, _MESSAGE, _OPT, "TensorShape"),
                    ("tensor_content", 4, _BYTES, _OPT, None), ("float_val", 5, _FLOAT, _REP, None),
                    ("double_val", 6, _DOUBLE, _REP, None), ("int_val", 7, _INT32, _REP, None),
                    ("int64_val", 10, _INT64, _REP, None), ("bool_val", 11, _BOOL, _REP, None),
                    ("half_val", 13, _INT32, _REP, None)],
    "TensorShape": [("dim", 2, _MESSAGE, _REP, "TensorShapeDim")],
    "TensorShapeDim": [("size", 1, _INT64, _OPT, None)],
    # oneof "data": experiment (2), session_start_info (3), session_end_info (4); only 3 is read
    "HParamsPluginData": [("session_start_info", 3, _MESSAGE, _OPT, "SessionStartInfo")],
    "SessionStartInfo": [("hparams", 1, _MESSAGE, _REP, "SessionStartInfo.HparamsEntry"),
                         ("group_name", 4, _STRING, _OPT, None)],
}
_ONEOFS = {"SummaryValue": ("value", ("simple_value", "tensor"))}

#: TensorFlow DataType enum → numpy dtype and the TensorProto repeated field holding such values.
_DTYPES = {1: ("<f4", "float_val"), 2: ("<f8", "double_val"), 3: ("<i4", "int_val"), 4: ("<u1", "int_val"),
           5: ("<i2", "int_val"), 6: ("<i1", "int_val"), 9: ("<i8", "int64_val"), 10: ("?", "bool_val"),
           17: ("<u2", "int_val"), 19: ("<f2", "half_val")}


@functools.cache
def messages():
    """``(Event, SummaryMetadata, HParamsPluginData, DecodeError)``: classes built on first use."""
    from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2
    from google.protobuf.message import DecodeError
    from google.protobuf.message_factory import GetMessageClass

    proto = descriptor_pb2.FileDescriptorProto(name="attn_widget_tensorboard.proto", package=_PACKAGE,
                                               syntax="proto3", dependency=["google/protobuf/struct.proto"])
    for name, fields in _MESSAGES.items():
        msg = proto.message_type.add(name=name)
        oneof_name, members = _ONEOFS.get(name, (None, ()))
        if oneof_name:
            msg.oneof_decl.add(name=oneof_name)
        for fname, number, ftype, label, type_name in fields:
            field = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
            if fname in members:
                field.oneof_index = 0
        if name == "SessionStartInfo":  # map<string, google.protobuf.Value> hparams = 1
            entry = msg.nested_type.add(name="HparamsEntry")
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=_STRING, label=_OPT)
            entry.field.add(name="value", number=2, type=_MESSAGE, label=_OPT, type_name=".google.protobuf.Value")
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    get = lambda n: GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{n}"))  # noqa: E731
    return get("Event"), get("SummaryMetadata"), get("HParamsPluginData"), DecodeError


def tensor_scalar(tensor) -> float | None:
    """The single number held by a ``TensorProto`` (any shape with one element, numeric dtype), or
    None when it holds several, none, or an unsupported dtype."""
    kind = _DTYPES.get(tensor.dtype)
    if kind is None:
        return None
    dtype, field = kind
    count = 1
    for dim in tensor.tensor_shape.dim:
        count *= dim.size
    if count != 1:
        return None
    if tensor.tensor_content:
        if len(tensor.tensor_content) != np.dtype(dtype).itemsize:
            return None
        return float(np.frombuffer(tensor.tensor_content, dtype=dtype)[0])
    values = getattr(tensor, field)
    if len(values) != 1:
        return None
    if dtype == "<f2":  # half_val holds the float16 bit patterns
        return float(np.array([values[0]], dtype=np.uint16).view(np.float16)[0])
    return float(values[0])


def hparams_of(content: bytes) -> dict | None:
    """``{name: value}`` of an hparams plugin ``session_start_info`` record (values str, float or
    bool), or None for other hparams records (experiment, session end) and undecodable bytes."""
    _, _, HParamsPluginData, DecodeError = messages()
    try:
        data = HParamsPluginData.FromString(content)
    except DecodeError:
        return None
    if not data.HasField("session_start_info"):
        return None
    out = {}
    for name, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        out[name] = None if kind in (None, "null_value", "struct_value", "list_value") else getattr(value, kind)
    return out
