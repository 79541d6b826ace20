"""Msgpack: the ``msgpack`` package when installed, else a small encoder and decoder of the standard library.

Floats are always written as float64 and maps with string keys, as the spool and the server expect.
"""

from __future__ import annotations

import struct
from typing import Any, List, Tuple

from ._optional import optional

_F64 = struct.Struct(">d")


def _header(out: List[bytes], n: int, fix: int, fix_max: int, c16: int, c32: int) -> None:
    if n <= fix_max:
        out.append(bytes((fix | n,)))
    elif n < 0x10000:
        out.append(struct.pack(">BH", c16, n))
    else:
        out.append(struct.pack(">BI", c32, n))


def _str(out: List[bytes], text: str) -> None:
    data = text.encode("utf-8")
    n = len(data)
    if n < 32:
        out.append(bytes((0xA0 | n,)))
    elif n < 0x100:
        out.append(bytes((0xD9, n)))
    else:
        _header(out, n, 0, -1, 0xDA, 0xDB)
    out.append(data)


def _int(out: List[bytes], n: int) -> None:
    if 0 <= n < 0x80:
        out.append(bytes((n,)))
    elif -32 <= n < 0:
        out.append(struct.pack(">b", n))
    elif 0 <= n < 0x100000000:
        out.append(struct.pack(">BI", 0xCE, n))
    elif 0 <= n < 0x10000000000000000:
        out.append(struct.pack(">BQ", 0xCF, n))
    elif -0x8000000000000000 <= n < 0:
        out.append(struct.pack(">Bq", 0xD3, n))
    else:
        raise OverflowError(f"msgpack: {n} does not fit in 64 bits")


def _pack(out: List[bytes], value: Any) -> None:
    if value is None:
        out.append(b"\xc0")
    elif value is True:
        out.append(b"\xc3")
    elif value is False:
        out.append(b"\xc2")
    elif isinstance(value, int):
        _int(out, value)
    elif isinstance(value, float):
        out.append(b"\xcb" + _F64.pack(value))
    elif isinstance(value, str):
        _str(out, value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        n = len(data)
        if n < 0x100:
            out.append(bytes((0xC4, n)))
        else:
            _header(out, n, 0, -1, 0xC5, 0xC6)
        out.append(data)
    elif isinstance(value, (list, tuple)):
        _header(out, len(value), 0x90, 15, 0xDC, 0xDD)
        for item in value:
            _pack(out, item)
    elif isinstance(value, dict):
        _header(out, len(value), 0x80, 15, 0xDE, 0xDF)
        for key, item in value.items():
            _pack(out, key)
            _pack(out, item)
    else:
        raise TypeError(f"msgpack: cannot encode {type(value).__name__}")


def pack_builtin(value: Any) -> bytes:
    """Encodes with the built-in encoder."""
    out: List[bytes] = []
    _pack(out, value)
    return b"".join(out)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ValueError("msgpack: data cut short")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> Tuple[Any, ...]:
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))

    def value(self) -> Any:
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            return self.map(b & 0x0F)
        if 0x90 <= b <= 0x9F:
            return [self.value() for _ in range(b & 0x0F)]
        if 0xA0 <= b <= 0xBF:
            return self.take(b & 0x1F).decode("utf-8")
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple:
            return simple[b]
        fixed = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q"}
        fixed.update({0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"})
        if b in fixed:
            return self.unpack(fixed[b])[0]
        sized = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
        if b in sized:
            data = self.take(self.unpack(sized[b])[0])
            return data if b <= 0xC6 else data.decode("utf-8")
        if b in (0xDC, 0xDD):
            n = self.unpack(">H" if b == 0xDC else ">I")[0]
            return [self.value() for _ in range(n)]
        if b in (0xDE, 0xDF):
            return self.map(self.unpack(">H" if b == 0xDE else ">I")[0])
        raise ValueError(f"msgpack: unsupported type byte 0x{b:02x}")

    def map(self, n: int) -> Any:
        out = {}
        for _ in range(n):
            key = self.value()
            out[key] = self.value()
        return out


def unpack_builtin(data: bytes) -> Any:
    """Decodes one value with the built-in decoder; trailing bytes are an error."""
    reader = _Reader(bytes(data))
    value = reader.value()
    if reader.pos != len(reader.data):
        raise ValueError("msgpack: trailing bytes")
    return value


def packb(value: Any) -> bytes:
    """Encodes with the msgpack package when available, else the built-in encoder."""
    module = optional("msgpack")
    if module is not None:
        data: bytes = module.packb(value, use_bin_type=True)
        return data
    return pack_builtin(value)


def unpackb(data: bytes) -> Any:
    """Decodes with the msgpack package when available, else the built-in decoder."""
    module = optional("msgpack")
    if module is not None:
        return module.unpackb(data, raw=False, strict_map_key=False)
    return unpack_builtin(data)
