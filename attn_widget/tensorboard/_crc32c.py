"""CRC32C (Castagnoli), vectorised with numpy, as used by TFRecord framing.

CRC is linear over GF(2): with the register starting at 0, the CRC of an ``L``-byte buffer is the
XOR of per-position contributions ``P[L-1-j][byte_j]``, where ``P[k]`` is the byte table advanced
over ``k`` zero bytes. So many equal-length buffers (an ``(n, L)`` uint8 matrix) are checked with
``L`` table look-ups per row in numpy, and one long buffer is cut into ``W``-byte rows whose CRCs are
folded pairwise with "advance over ``w`` zero bytes" operators. No per-byte Python loop anywhere.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8
_CHUNK = 32768  # rows per pass over the columns
ROW = 256  # widest row handled with position tables; longer buffers are folded in ROW-byte rows


def _byte_table() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_POLY), t >> 1).astype(np.uint32)
    return t


_TABLE = _byte_table()


def _position_tables(k: int) -> np.ndarray:
    """``(k, 256)`` uint32: row ``i`` = contribution of a byte followed by ``i`` zero bytes."""
    out = np.empty((k, 256), dtype=np.uint32)
    cur = _TABLE.copy()
    for i in range(k):
        out[i] = cur
        cur = (cur >> 8) ^ _TABLE[cur & 0xFF]
    return out


_POS = _position_tables(ROW)
# Flat copy whose row index runs backwards, so byte column j of an L-wide row uses
# _POS_FLAT[(ROW - L + j) * 256 + byte] == _POS[L - 1 - j][byte].
_POS_FLAT = np.ascontiguousarray(_POS[::-1]).ravel()


class _Advance:
    """Linear operator "feed ``n`` zero bytes into the register", applied to uint32 arrays."""

    def __init__(self, images: np.ndarray):
        self.images = images  # (32,) uint32: image of each basis bit
        bits = (np.arange(256)[:, None] >> np.arange(8)) & 1  # (256, 8)
        self.tables = np.stack(
            [np.bitwise_xor.reduce(np.where(bits, images[8 * k : 8 * k + 8], 0), axis=1) for k in range(4)]
        ).astype(np.uint32)  # (4, 256)
        self._lists = [t.tolist() for t in self.tables]

    def __call__(self, s: np.ndarray) -> np.ndarray:
        t = self.tables
        return t[0][s & 0xFF] ^ t[1][(s >> 8) & 0xFF] ^ t[2][(s >> 16) & 0xFF] ^ t[3][s >> 24]

    def scalar(self, s: int) -> int:
        t = self._lists
        return t[0][s & 0xFF] ^ t[1][(s >> 8) & 0xFF] ^ t[2][(s >> 16) & 0xFF] ^ t[3][s >> 24]

    def then(self, other: _Advance) -> _Advance:
        """Operator applying ``self`` and then ``other``."""
        return _Advance(other(self.images))


@lru_cache(maxsize=64)
def _advance_pow2(m: int) -> _Advance:
    """Advance over ``2**m`` zero bytes."""
    if m == 0:
        basis = np.uint32(1) << np.arange(32, dtype=np.uint32)
        return _Advance((basis >> 8) ^ _TABLE[basis & 0xFF])
    half = _advance_pow2(m - 1)
    return half.then(half)


@lru_cache(maxsize=4096)
def _final_xor(length: int) -> int:
    """Value XORed onto the linear CRC of a ``length``-byte buffer: init and final inversion."""
    s, m = 0xFFFFFFFF, 0
    while length >> m:
        if (length >> m) & 1:
            s = _advance_pow2(m).scalar(s)
        m += 1
    return s ^ 0xFFFFFFFF


def _linear_rows(rows: np.ndarray) -> np.ndarray:
    """Register-from-zero CRC of each row of an ``(n, L)`` uint8 matrix, ``L <= ROW``."""
    n, width = rows.shape
    if width == 0:
        return np.zeros(n, dtype=np.uint32)
    if n < 64:  # few rows: one gather + XOR-reduce beats ``width`` tiny column passes
        idx = rows.astype(np.intp) + np.arange((ROW - width) * 256, ROW * 256, 256)
        return np.bitwise_xor.reduce(_POS_FLAT[idx], axis=1)
    crc = np.empty(n, dtype=np.uint32)
    for start in range(0, n, _CHUNK):  # chunks keep the column passes in cache
        block = rows[start : start + _CHUNK]
        acc = _POS[width - 1].take(block[:, 0])
        for j in range(1, width):
            acc ^= _POS[width - 1 - j].take(block[:, j])
        crc[start : start + _CHUNK] = acc
    return crc


def crc32c_rows(rows: np.ndarray) -> np.ndarray:
    """CRC32C of each row of an ``(n, L)`` uint8 matrix → ``(n,)`` uint32 (any ``L``)."""
    n, width = rows.shape
    if width <= ROW:
        return _linear_rows(rows) ^ np.uint32(_final_xor(width))
    return np.array([crc32c(r) for r in rows], dtype=np.uint32)


def crc32c_padded(rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC32C of buffers of mixed lengths (each ``<= ROW``) stored right-aligned in the rows of an
    ``(n, W)`` uint8 matrix with zeros in front (leading zeros do not move a zero register)."""
    consts = np.array([_final_xor(int(n)) for n in lengths.tolist()], dtype=np.uint32)
    return _linear_rows(rows) ^ consts


def crc32c(data) -> int:
    """CRC32C of one buffer (bytes-like or 1-D uint8 array) → int."""
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    length = buf.size
    if length <= ROW:
        return int(_linear_rows(buf[None, :])[0]) ^ _final_xor(length)
    nrows = -(-length // ROW)
    padded = np.zeros(nrows * ROW, dtype=np.uint8)  # leading zeros leave a zero register unchanged
    padded[nrows * ROW - length :] = buf
    vals = _linear_rows(padded.reshape(nrows, ROW))
    m = ROW.bit_length() - 1  # ROW is a power of two: rows are 2**m bytes wide
    while vals.size > 1:
        if vals.size & 1:
            vals = np.concatenate([np.zeros(1, dtype=np.uint32), vals])
        vals = _advance_pow2(m)(vals[0::2]) ^ vals[1::2]
        m += 1
    return int(vals[0]) ^ _final_xor(length)


def mask(crc):
    """TFRecord's masked CRC: rotate right by 15 and add a constant (works on ints and uint32 arrays)."""
    if isinstance(crc, np.ndarray):
        return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(_MASK_DELTA)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF
