"""Reading and writing IDX files, the binary format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension, then the
values in C order, big-endian::

    byte 0-1   0x00 0x00
    byte 2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte 3     number of dimensions
    then       ndim x uint32 sizes, then prod(sizes) values

Files are usually distributed gzipped. :func:`read_idx` recognises gzip by its magic bytes,
so a compressed file without the ``.gz`` suffix (or a raw one with it) is read correctly.

Everything that can be wrong with a file is reported as :class:`~analog_eqprop.errors.DataError`
naming the file, the problem and what was expected, so a user with a half-downloaded data set
sees which file to fetch again rather than a NumPy reshape error.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Union

import numpy as np

from analog_eqprop.errors import DataError

__all__ = ["IDX_DTYPES", "MAX_IDX_DIMS", "read_idx", "write_idx"]

PathLike = Union[str, "os.PathLike[str]"]

#: Type code (byte 2 of the magic number) -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Largest number of dimensions accepted. The format allows 255, but no data set this toolkit
#: reads has more than 3 (images x rows x columns); a larger count means the header is garbage.
MAX_IDX_DIMS = 4

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER = struct.Struct(">BBBB")
_TYPE_NAMES = {code: dt.newbyteorder("=").name for code, dt in IDX_DTYPES.items()}
_EXPECTED_TYPES = ", ".join(f"0x{code:02X} ({name})" for code, name in _TYPE_NAMES.items())


def _read_bytes(path: Path) -> bytes:
    """Return the file's content, decompressed when it starts with the gzip magic bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an IDX file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if not raw:
        raise DataError(f"{path}: empty file, expected an IDX header of at least 4 bytes")
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError; a cut-off stream is an EOFError; a damaged deflate block a zlib.error.
        raise DataError(
            f"{path}: corrupt gzip stream ({exc}); expected a complete gzip file, "
            "the download may be incomplete"
        ) from exc
    if not data:
        raise DataError(f"{path}: gzip stream decompresses to nothing, expected an IDX file")
    return data


def _parse(data: bytes, path: Path) -> np.ndarray:
    """Validate the IDX header of ``data`` against its payload and return the array."""
    if len(data) < _HEADER.size:
        raise DataError(
            f"{path}: truncated header: {len(data)} byte(s), expected at least 4 (the IDX magic number)"
        )
    zero0, zero1, code, ndim = _HEADER.unpack_from(data)
    if zero0 or zero1:
        raise DataError(
            f"{path}: bad magic number 0x{data[:4].hex().upper()}: the first two bytes must be zero; "
            "this is not an IDX file"
        )
    if code not in IDX_DTYPES:
        raise DataError(
            f"{path}: unknown IDX type code 0x{code:02X}, expected one of {_EXPECTED_TYPES}"
        )
    if not 1 <= ndim <= MAX_IDX_DIMS:
        raise DataError(
            f"{path}: header declares {ndim} dimension(s), expected 1 to {MAX_IDX_DIMS}"
        )
    header_size = _HEADER.size + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: truncated header: {ndim} dimension(s) need {header_size} header bytes "
            f"but the file has {len(data)}"
        )
    shape = struct.unpack_from(f">{ndim}I", data, _HEADER.size)
    dtype = IDX_DTYPES[code]
    # Python ints: the product of four uint32 sizes overflows int64, and np.prod would wrap silently.
    count = 1
    for size in shape:
        count *= size
    expected = count * dtype.itemsize
    present = len(data) - header_size
    if present != expected:
        dims = "x".join(str(s) for s in shape)
        what = f"{dims} = {count} values of {_TYPE_NAMES[code]}"
        if dtype.itemsize == 1:
            declared = f"{dims} = {expected} bytes of {_TYPE_NAMES[code]} data"
        else:
            declared = f"{what} ({expected} bytes)"
        if present < expected:
            raise DataError(
                f"{path}: truncated: header declares {declared} but only {present} are present"
            )
        raise DataError(
            f"{path}: {present - expected} trailing byte(s) after the data: header declares "
            f"{declared} but {present} are present"
        )
    # NumPy refuses a shape whose non-zero sizes multiply past its index range, even for zero values
    span = dtype.itemsize
    for size in shape:
        span *= max(size, 1)
    if span > np.iinfo(np.intp).max:
        raise DataError(f"{path}: header declares dimensions {'x'.join(str(s) for s in shape)}, "
                        "too large for an array on this machine")
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header_size)
    # Native byte order, and a writeable array that does not pin the whole decompressed buffer.
    return values.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is detected from the content (magic bytes ``1f 8b``), not
        from the name.

    Returns
    -------
    numpy.ndarray
        An array in native byte order with the dimensions and element type the header declares
        (``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or ``float64``).

    Raises
    ------
    DataError
        If the file is missing, empty, not gzip-decodable although it starts like gzip, has a bad
        magic number, an unknown type code, an implausible number of dimensions (not 1 to
        :data:`MAX_IDX_DIMS`), sizes too large for an array on this machine, or a payload shorter
        or longer than the header declares. The message
        names the file, the problem and what was expected.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "labels-idx1-ubyte.gz"
    ...     write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
    ...     read_idx(path)
    array([3, 1, 4], dtype=uint8)

    A file cut short names what is missing:

    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "cut-idx3-ubyte"
    ...     _ = path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 7]))
    ...     read_idx(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.DataError: ...cut-idx3-ubyte: truncated: header declares 2x2x2 = 8 bytes of uint8 data but only 1 are present
    """
    path = Path(path)
    return _parse(_read_bytes(path), path)


def _idx_code(dtype: np.dtype) -> int:
    """Return the IDX type code for ``dtype`` (any byte order)."""
    native = dtype.newbyteorder("=")
    for code, idx_dtype in IDX_DTYPES.items():
        if idx_dtype.newbyteorder("=") == native:
            return code
    raise DataError(
        f"cannot write dtype {dtype} as IDX, expected one of "
        + ", ".join(_TYPE_NAMES.values())
    )


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped when the name ends in ``.gz``.

    Used to build test fixtures and small custom data sets in the MNIST layout. The gzip
    header carries no timestamp, so writing the same array twice gives identical bytes.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; an existing file is overwritten.
    array : numpy.ndarray
        Array of 1 to :data:`MAX_IDX_DIMS` dimensions, each at most ``2**32 - 1`` long, with dtype
        ``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or ``float64`` (any byte order).

    Raises
    ------
    DataError
        If the dtype or the shape cannot be represented in IDX.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "weights.idx"
    ...     write_idx(path, np.eye(2, dtype=np.float32))
    ...     path.read_bytes()[:4].hex(), read_idx(path).tolist()
    ('00000d02', [[1.0, 0.0], [0.0, 1.0]])
    """
    path = Path(path)
    array = np.asarray(array)
    code = _idx_code(array.dtype)
    if not 1 <= array.ndim <= MAX_IDX_DIMS:
        raise DataError(
            f"{path}: cannot write a {array.ndim}-dimensional array as IDX, expected 1 to {MAX_IDX_DIMS}"
        )
    if any(size > 0xFFFFFFFF for size in array.shape):
        raise DataError(f"{path}: shape {array.shape} has a dimension that does not fit in uint32")
    header = _HEADER.pack(0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    data = header + payload
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
