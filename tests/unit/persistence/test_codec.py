"""The msgpack codec: versioned, plain data only, clear errors."""

from __future__ import annotations

from decimal import Decimal

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from persistence import codec
from persistence.store import CodecError

plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(st.dictionaries(st.text(), plain, max_size=6))
def test_plain_dicts_round_trip(obj):
    assert codec.decode(codec.encode(obj)) == obj


def test_encoding_carries_the_schema_version():
    assert msgpack.unpackb(codec.encode({"a": 1})) == [codec.VERSION, {"a": 1}]


def test_unknown_version_names_it_and_the_supported_ones():
    data = msgpack.packb([7, {"a": 1}])
    with pytest.raises(CodecError, match="unknown codec schema version 7; this build "
                                         "supports 1"):
        codec.decode(data)


@pytest.mark.parametrize("data", [b"", b"\xc1", msgpack.packb({"a": 1}),
                                  msgpack.packb([1, [1, 2]]), msgpack.packb([1, {}]) + b"x"])
def test_undecodable_or_unversioned_bytes_are_a_codec_error(data):
    with pytest.raises(CodecError):
        codec.decode(data)


@pytest.mark.parametrize(("obj", "where"), [
    ({"px": Decimal("1.5")}, r"\$\.px: cannot encode a Decimal \(store Decimals as str"),
    ({"a": [1, {"b": {1, 2}}]}, r"\$\.a\[1\]\.b: cannot encode a set"),
    ({"a": {3: "x"}}, r"\$\.a: dict key 3 is a int"),
    ({"a": b"raw"}, r"\$\.a: cannot encode a bytes"),
])
def test_non_plain_values_are_rejected_naming_where(obj, where):
    with pytest.raises(CodecError, match=where):
        codec.encode(obj)


def test_top_level_must_be_a_dict_and_ints_must_fit():
    with pytest.raises(CodecError, match="top level"):
        codec.encode([1])  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="cannot encode value"):
        codec.encode({"big": 2**64})


def test_tuples_come_back_as_lists():
    assert codec.decode(codec.encode({"t": (1, 2)})) == {"t": [1, 2]}
