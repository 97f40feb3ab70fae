"""Downloading MNIST and Fashion-MNIST: public mirrors tried in turn, content digests, a user cache.

:func:`fetch_dataset` puts the four IDX files of a data set in its directory under the *data
home* (:func:`data_home`: ``$ANALOG_EQPROP_DATA_HOME``, else the platform's user cache
directory), the way ``torchvision.datasets.MNIST(download=True)``, ``keras.datasets`` and
scikit-learn's ``fetch_*`` functions do. Each file is

1. downloaded from the first mirror that answers, into a hidden temporary file beside its final
   place (``.NAME.XXXX.part``);
2. checked *before it is kept*: its decompressed IDX content must have the published size and
   SHA-256 (:data:`REMOTE_DATASETS`). The digest is of the content, not of the ``.gz``: mirrors
   recompress the files, so faithful copies differ in their ``.gz`` bytes but never in what they
   decompress to;
3. renamed into place atomically. A wrong digest, a truncated transfer or a dead mirror moves on
   to the next mirror; when none gives a good copy the :class:`~analog_eqprop.errors.DataError`
   names the file and lists every URL with what went wrong, and nothing is left in the cache.

Decompression is bounded by the expected size, so a hostile mirror cannot fill the disk with a
gzip bomb, and a download is cut off once it is larger than any faithful copy can be.

The reference digests were computed from the MNIST files in the project's shared data (whose
uncompressed MD5s, ``6bbc9ace...`` for the training images, are the ones published for the
original files) and from Debian's ``dataset-fashion-mnist`` package (uncompressed MD5s
``f4a8712d...`` etc., the figures published alongside Zalando's ``.gz`` checksums).

Examples
--------
>>> spec = REMOTE_DATASETS["mnist"]
>>> [f.name for f in spec.files][:2]
['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']
>>> spec.files[0].size  # bytes of the decompressed IDX file: 60000 x 28 x 28 + a 16-byte header
47040016

From the command line: ``analog-eqprop data fetch mnist``; in Python: ``fetch_dataset("mnist")``
or ``load_mnist(download=True)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import http.client
import logging
import os
import re
import secrets
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Optional, Union

from tqdm.auto import tqdm

from analog_eqprop import __version__
from analog_eqprop.errors import ConfigError, DataError

__all__ = [
    "DATA_HOME_ENV_VAR",
    "REMOTE_DATASETS",
    "FetchedFile",
    "FetchReport",
    "RemoteDataset",
    "RemoteFile",
    "cache_status",
    "cached_path",
    "data_home",
    "fetch_dataset",
    "verify_file",
]

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Environment variable naming the data home (the cache of downloaded data sets).
DATA_HOME_ENV_VAR = "ANALOG_EQPROP_DATA_HOME"

_APP_NAME = "analog_eqprop"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
# Temporary files of a download killed outright (SIGKILL, power loss) are removed by the next
# fetch once they are this old; a younger one may belong to a fetch running in another process.
_STALE_PART_S = 6 * 3600.0


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One file of a downloadable data set.

    Parameters
    ----------
    name : str
        File name on the mirrors, e.g. ``"train-images-idx3-ubyte.gz"``.
    sha256 : str
        SHA-256 (hex) of the *decompressed* IDX content.
    size : int
        Size of the decompressed IDX content, in bytes.
    """

    name: str
    sha256: str
    size: int

    @property
    def stem(self) -> str:
        """The IDX name without ``.gz``, e.g. ``"train-images-idx3-ubyte"``."""
        return self.name[:-3] if self.name.endswith(".gz") else self.name

    @property
    def max_download_bytes(self) -> int:
        """The most bytes a faithful copy can take: gzip adds ~0.03 % to incompressible data."""
        return self.size + self.size // 100 + 65536


@dataclasses.dataclass(frozen=True)
class RemoteDataset:
    """A data set of IDX files and the public mirrors that serve them (tried in order)."""

    name: str
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    homepage: str


def _idx_files(digests: Sequence[tuple[str, str, int]]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, sha256, size) for name, sha256, size in digests)


#: The data sets :func:`fetch_dataset` knows, with their mirrors and content digests.
REMOTE_DATASETS: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        name="mnist",
        # torchvision's current mirror, TensorFlow's tutorial mirror, then the original site
        # (which refuses many automated clients nowadays).
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files=_idx_files((
            ("train-images-idx3-ubyte.gz", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016),
            ("train-labels-idx1-ubyte.gz", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008),
            ("t10k-images-idx3-ubyte.gz", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016),
            ("t10k-labels-idx1-ubyte.gz", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008),
        )),
        homepage="http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": RemoteDataset(
        name="fashion-mnist",
        # Zalando's own site (torchvision's mirror), the files in Zalando's GitHub repository,
        # then keras.datasets.fashion_mnist's bucket.
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ),
        files=_idx_files((
            ("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016),
            ("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008),
            ("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016),
            ("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008),
        )),
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    ),
}


def _remote(name: str) -> RemoteDataset:
    key = str(name).strip().lower().replace("_", "-")
    if key not in REMOTE_DATASETS:
        raise DataError(f"unknown downloadable data set {name!r}, expected one of: {', '.join(REMOTE_DATASETS)}")
    return REMOTE_DATASETS[key]


# ---------------------------------------------------------------------------------------------
# Where the cache lives


def _user_cache_dir() -> Path:
    """The platform's per-user cache directory for this package (not created here)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / _APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / _APP_NAME
    # XDG base directory spec: a relative $XDG_CACHE_HOME is invalid and must be ignored.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / _APP_NAME


def data_home(path: Optional[PathLike] = None) -> Path:
    """Return the data home: ``path``, else ``$ANALOG_EQPROP_DATA_HOME``, else the user cache.

    The user cache is ``$XDG_CACHE_HOME/analog_eqprop`` (default ``~/.cache/analog_eqprop``) on
    Linux, ``~/Library/Caches/analog_eqprop`` on macOS and
    ``%LOCALAPPDATA%\\analog_eqprop\\Cache`` on Windows. Each data set has its own directory
    in it (``mnist/``, ``fashion-mnist/``). The directory is created by the first download,
    not here.

    Examples
    --------
    >>> data_home("my-data").name
    'my-data'
    """
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get(DATA_HOME_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return _user_cache_dir()


# fetch_dataset and cache_status take a ``data_home`` argument, like scikit-learn's fetchers,
# which hides the function of that name inside them.
_resolve_home = data_home


def cached_path(directory: PathLike, remote_file: RemoteFile) -> Optional[Path]:
    """Return ``directory/STEM.gz`` or ``directory/STEM`` (gzipped first) if present, else None."""
    directory = Path(directory)
    for candidate in (directory / f"{remote_file.stem}.gz", directory / remote_file.stem):
        if candidate.is_file():
            return candidate
    return None


# ---------------------------------------------------------------------------------------------
# Checking a file against its digest


class _Rejected(Exception):
    """A download or a file that is not a faithful copy; the message says why."""


def _check_content(path: Path, remote_file: RemoteFile) -> bool:
    """Hash ``path``'s (decompressed) content; raise :class:`_Rejected` unless it is the published file.

    Returns whether the file is gzipped. Reads at most ``size + 1`` decompressed bytes.
    """
    with open(path, "rb") as fh:
        compressed = fh.read(2) == _GZIP_MAGIC
    digest = hashlib.sha256()
    total = 0
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as src:
            while True:
                chunk = src.read(min(1 << 20, remote_file.size + 1 - total))
                if not chunk:
                    break
                total += len(chunk)
                if total > remote_file.size:
                    raise _Rejected(
                        f"content is longer than the {remote_file.size} bytes of the published file"
                    )
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError, a stream cut short an EOFError, a damaged block a zlib.error.
        raise _Rejected(f"corrupt gzip stream ({exc}); the download is truncated or damaged") from None
    if total != remote_file.size:
        raise _Rejected(
            f"content is {total} bytes, expected {remote_file.size}; the file is truncated"
        )
    got = digest.hexdigest()
    if got != remote_file.sha256:
        raise _Rejected(
            f"SHA-256 of the decompressed content is {got}, expected {remote_file.sha256}; "
            "this is not the published file"
        )
    return compressed


def verify_file(path: PathLike, remote_file: RemoteFile) -> None:
    """Check that ``path`` (gzipped or raw) holds the published content of ``remote_file``.

    Raises
    ------
    DataError
        Naming the file and what differs (size, SHA-256, a damaged gzip stream).
    """
    path = Path(path)
    try:
        _check_content(path, remote_file)
    except _Rejected as exc:
        raise DataError(f"{path}: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------------
# Downloading one file from one URL


def _mirror_url(mirror: str, file_name: str) -> str:
    """``mirror`` (an http(s)/file URL or a local directory) joined with ``file_name``."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", mirror):
        scheme = mirror.split(":", 1)[0].lower()
        if scheme not in ("http", "https", "file"):
            raise ConfigError(
                f"mirror {mirror!r}: unsupported scheme {scheme!r}, expected http://, https://, "
                "file:// or a local directory"
            )
        return mirror.rstrip("/") + "/" + urllib.parse.quote(file_name)
    # A directory on this machine (a copy of the files, a mounted share).
    return Path(mirror).expanduser().resolve().as_uri() + "/" + urllib.parse.quote(file_name)


def _user_agent() -> str:
    # Some mirrors refuse urllib's default agent; say who is asking instead.
    return f"analog-eqprop/{__version__} Python-urllib/{sys.version_info[0]}.{sys.version_info[1]}"


def _download(url: str, out: BinaryIO, remote_file: RemoteFile, *, timeout_s: float, progress: bool) -> int:
    """Stream ``url`` into the open binary file ``out``; return the bytes received.

    Raises :class:`_Rejected` for a transfer that is cut short or too large; network errors
    propagate for the caller to describe.
    """
    limit = remote_file.max_download_bytes
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        announced = response.headers.get("Content-Length")
        total = int(announced) if announced and announced.strip().isdigit() else None
        if total is not None and total > limit:
            raise _Rejected(f"server announces {total} bytes, more than a faithful copy can take ({limit})")
        received = 0
        with tqdm(total=total, desc=remote_file.name, unit="B", unit_scale=True, unit_divisor=1024,
                  disable=not progress, leave=False, file=sys.stderr) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    raise _Rejected(f"more than {limit} bytes received, more than a faithful copy can take")
                out.write(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise _Rejected(f"truncated download: received {received} of {total} bytes")
    if received == 0:
        raise _Rejected("the server sent an empty file")
    return received


def _describe(exc: BaseException, timeout_s: float) -> str:
    """A short reason for a failed attempt."""
    if isinstance(exc, _Rejected):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"no answer within {timeout_s:g} s"
        return f"unreachable ({getattr(reason, 'strerror', None) or reason})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no data for {timeout_s:g} s, transfer abandoned"
    if isinstance(exc, http.client.HTTPException):
        return f"connection broken ({type(exc).__name__}: {exc})"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------
# Fetching a data set


@dataclasses.dataclass(frozen=True)
class FetchedFile:
    """What :func:`fetch_dataset` did for one file.

    ``status`` is ``"downloaded"`` (new), ``"replaced"`` (a cached copy failed its check and a
    good one replaced it) or ``"cached"`` (already present; checked unless ``verify_cached`` was
    false). ``url`` is where the kept copy came from (None when cached); ``failed`` lists the
    ``(url, reason)`` pairs tried before it.
    """

    name: str
    path: Path
    status: str
    bytes: int
    verified: bool
    url: Optional[str] = None
    failed: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "status": self.status,
            "bytes": self.bytes,
            "verified": self.verified,
            "url": self.url,
            "failed": [{"url": url, "reason": reason} for url, reason in self.failed],
        }


@dataclasses.dataclass(frozen=True)
class FetchReport:
    """The result of :func:`fetch_dataset`: the data set's directory and one entry per file."""

    name: str
    directory: Path
    files: tuple[FetchedFile, ...]

    @property
    def downloaded(self) -> int:
        """Number of files transferred by this call."""
        return sum(f.status != "cached" for f in self.files)

    def to_dict(self) -> dict:
        return {"dataset": self.name, "directory": str(self.directory),
                "files": [f.to_dict() for f in self.files]}


def _remove_stale_parts(directory: Path) -> None:
    now = time.time()
    for part in directory.glob(".*.part"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > _STALE_PART_S:
                part.unlink()


def _fetch_one(directory: Path, remote_file: RemoteFile, urls: Sequence[str], *, timeout_s: float,
               progress: bool) -> tuple[Path, str, list[tuple[str, str]]]:
    """Try ``urls`` in turn; keep the first copy that passes its check. Returns (path, url, failures)."""
    failures: list[tuple[str, str]] = []
    for url in urls:
        # Not tempfile.mkstemp: its 0600 mode would make the cache unreadable to other users of
        # a shared data home; os.open applies the umask like any other file the user creates.
        tmp = directory / f".{remote_file.name}.{secrets.token_hex(6)}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                _download(url, out, remote_file, timeout_s=timeout_s, progress=progress)
                out.flush()
                os.fsync(out.fileno())
            compressed = _check_content(tmp, remote_file)
            final = directory / (f"{remote_file.stem}.gz" if compressed else remote_file.stem)
            os.replace(tmp, final)
            # The loader prefers STEM.gz over STEM: drop the other form so a stale copy cannot shadow this one.
            other = directory / (remote_file.stem if compressed else f"{remote_file.stem}.gz")
            with contextlib.suppress(FileNotFoundError):
                other.unlink()
            log.info("%s: kept the copy from %s", final, url)
            return final, url, failures
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure of one mirror is reported and the next tried
            reason = _describe(exc, timeout_s)
            failures.append((url, reason))
            if progress:  # the user is watching: say why the bar starts again
                print(f"{remote_file.name} from {url}: {reason}; trying the next mirror", file=sys.stderr)
            else:
                log.info("%s from %s: %s; trying the next mirror", remote_file.name, url, reason)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    tried = "\n".join(f"  {url}: {reason}" for url, reason in failures)
    raise DataError(
        f"{remote_file.name}: no mirror gave a good copy ({len(failures)} tried); nothing was kept "
        f"in {directory}:\n{tried}\n(offline or behind a firewall? give a copy of the files with "
        "--mirror DIR_OR_URL / mirrors=[...])"
    )


def fetch_dataset(
    name: str,
    data_home: Optional[PathLike] = None,
    *,
    directory: Optional[PathLike] = None,
    mirrors: Optional[Sequence[str]] = None,
    force: bool = False,
    verify_cached: bool = True,
    progress: Optional[bool] = None,
    timeout_s: float = 60.0,
) -> FetchReport:
    """Download the IDX files of ``name`` (``"mnist"`` or ``"fashion-mnist"``) unless cached.

    Parameters
    ----------
    name : str
        A key of :data:`REMOTE_DATASETS`.
    data_home : str or os.PathLike, optional
        The data home (see :func:`data_home`); the files go to ``DATA_HOME/NAME/``.
    directory : str or os.PathLike, optional
        Put the files here instead of under the data home.
    mirrors : sequence of str, optional
        Base URLs (``http://``, ``https://``, ``file://``) or local directories to try in order,
        instead of the data set's public mirrors.
    force : bool
        Download every file again even when a good copy is cached.
    verify_cached : bool
        Check files already present against their digests and download again any that fail;
        if false, a present file is kept as it is (the loaders' ``download=True`` uses that,
        so a directory of the user's own files is never overwritten).
    progress : bool, optional
        Show a progress bar per file on stderr; default: when stderr is a terminal.
    timeout_s : float
        Seconds to wait for a mirror to connect or to send more data [s].

    Returns
    -------
    FetchReport
        The directory and, per file, whether it was downloaded, replaced or already cached.

    Raises
    ------
    DataError
        When no mirror gives a good copy of a file: the message names the file and lists every
        URL tried with what went wrong. No partial or unverified file is left behind; files
        fetched before the failing one stay (they are verified).
    ConfigError
        For a mirror with an unsupported URL scheme.
    """
    spec = _remote(name)
    target = Path(directory).expanduser() if directory is not None else _resolve_home(data_home) / spec.name
    bases = tuple(mirrors) if mirrors else spec.mirrors
    if not bases:
        raise ConfigError("mirrors: at least one mirror is needed")
    show = sys.stderr.isatty() if progress is None else bool(progress)
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the data directory {target}: {exc.strerror or exc}; choose another with "
            f"data_home=... / --data-home or ${DATA_HOME_ENV_VAR}"
        ) from None
    _remove_stale_parts(target)
    results = []
    for remote_file in spec.files:
        urls = [_mirror_url(base, remote_file.name) for base in bases]
        present = cached_path(target, remote_file)
        status = "downloaded"
        if present is not None and not force:
            if not verify_cached:
                results.append(FetchedFile(remote_file.name, present, "cached", present.stat().st_size, False))
                continue
            try:
                _check_content(present, remote_file)
            except _Rejected as exc:
                log.info("%s: %s; downloading it again", present, exc)
                status = "replaced"
            else:
                results.append(FetchedFile(remote_file.name, present, "cached", present.stat().st_size, True))
                continue
        elif present is not None:
            status = "replaced"
        try:
            path, url, failures = _fetch_one(target, remote_file, urls, timeout_s=timeout_s, progress=show)
        except BaseException:
            if created:  # leave no empty directory behind for a data set that never arrived
                with contextlib.suppress(OSError):
                    target.rmdir()
            raise
        results.append(FetchedFile(remote_file.name, path, status, path.stat().st_size, True, url, tuple(failures)))
    return FetchReport(spec.name, target, tuple(results))


def cache_status(data_home: Optional[PathLike] = None, *, verify: bool = False) -> list[dict]:
    """Describe what the data home holds, one dict per known data set.

    Each dict has ``dataset``, ``directory``, ``complete`` (all files present, and with
    ``verify`` all passing their check) and ``files``: ``name``, ``path`` (None when missing),
    ``bytes`` and ``status`` (``"missing"``, ``"present"``, or with ``verify`` ``"ok"`` or the
    reason the check failed).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [(d["dataset"], d["complete"]) for d in cache_status(tmp)]
    [('mnist', False), ('fashion-mnist', False)]
    """
    home = _resolve_home(data_home)
    out = []
    for spec in REMOTE_DATASETS.values():
        directory = home / spec.name
        files = []
        for remote_file in spec.files:
            path = cached_path(directory, remote_file)
            if path is None:
                files.append({"name": remote_file.name, "path": None, "bytes": 0, "status": "missing"})
                continue
            status = "present"
            if verify:
                try:
                    _check_content(path, remote_file)
                    status = "ok"
                except _Rejected as exc:
                    status = str(exc)
                except OSError as exc:
                    status = f"cannot be read: {exc.strerror or exc}"
            files.append({"name": remote_file.name, "path": str(path), "bytes": path.stat().st_size,
                          "status": status})
        good = ("ok",) if verify else ("present",)
        out.append({"dataset": spec.name, "directory": str(directory),
                    "complete": all(f["status"] in good for f in files), "files": files})
    return out
