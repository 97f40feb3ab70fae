"""Downloads of MNIST-layout data sets, served by a local HTTP server on 127.0.0.1.

Small synthetic IDX files stand in for MNIST (their digests are injected into the table of
remote data sets); the real MNIST files, served the same way, check the shipped digests once.
Every failure must name the file, list what was tried, and leave nothing partial in the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from analog_eqprop.cli import main
from analog_eqprop.data import (
    DATA_HOME_ENV_VAR,
    FASHION_MNIST_DEBIAN_DIR,
    FASHION_MNIST_ENV_VAR,
    MNIST_ENV_VAR,
    REMOTE_DATASETS,
    cache_status,
    data_home,
    fetch_dataset,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    verify_file,
    write_idx,
)
from analog_eqprop.data import remote
from analog_eqprop.data.remote import RemoteDataset, RemoteFile
from analog_eqprop.errors import ConfigError, DataError

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
NAMES = tuple(f"{stem}.gz" for stem in STEMS)
# Uncompressed MD5s published for the original files (MNIST: LeCun et al.'s files as listed in
# ../shared/data/README.md; Fashion-MNIST: the figures published beside Zalando's .gz checksums).
PUBLISHED_MD5 = {
    "mnist": ("6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
              "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637"),
    "fashion-mnist": ("f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9",
                      "8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965"),
}


# ---------------------------------------------------------------------------------------------
# A local server: path -> (mode, body)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server name
        mode, body = self.server.routes.get(self.path, ("404", b""))
        self.server.hits.append(self.path)
        if mode == "404":
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncate":  # announce the whole file, send half of it, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.hits = {}, []
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _publish(httpd, prefix: str, files: dict[str, bytes], mode: str = "ok") -> str:
    for name, body in files.items():
        httpd.routes[f"/{prefix}/{name}"] = (mode, body)
    return f"{httpd.base}/{prefix}/"


@pytest.fixture
def dead_mirror():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


# Read before the fixture below hides it: tests/conftest.py points it at ../shared/data/mnist.
SHARED_MNIST = Path(os.environ.get(MNIST_ENV_VAR) or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No proxy between the client and 127.0.0.1, and no MNIST directory named by the environment."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv(MNIST_ENV_VAR, raising=False)


# ---------------------------------------------------------------------------------------------
# Synthetic MNIST-layout files and their digests


def _raw_idx(array: np.ndarray, tmp: Path) -> bytes:
    write_idx(tmp, array)
    return tmp.read_bytes()


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Gzipped synthetic IDX files (5 train, 3 test images of 4x4) registered as "mnist"."""
    rng = np.random.default_rng(1)
    arrays = (rng.integers(0, 256, (5, 4, 4), dtype=np.uint8), np.array([0, 1, 2, 3, 4], np.uint8),
              rng.integers(0, 256, (3, 4, 4), dtype=np.uint8), np.array([7, 8, 9], np.uint8))
    raw = {name: _raw_idx(a, tmp_path / "raw.idx") for name, a in zip(NAMES, arrays)}
    spec = RemoteDataset(
        name="mnist",
        mirrors=("http://127.0.0.1:9/unused/",),  # never used: every test names its mirrors
        files=tuple(RemoteFile(n, hashlib.sha256(b).hexdigest(), len(b)) for n, b in raw.items()),
        homepage="",
    )
    monkeypatch.setitem(REMOTE_DATASETS, "mnist", spec)
    (tmp_path / "raw.idx").unlink()
    return {"raw": raw, "gz": {n: gzip.compress(b, mtime=0) for n, b in raw.items()}, "spec": spec}


def _leftovers(directory: Path) -> list[str]:
    """Anything in the directory that is not one of the four kept files."""
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.iterdir() if p.name not in NAMES and p.name not in STEMS)


# ---------------------------------------------------------------------------------------------
# Good downloads


def test_fetch_good_files_then_cached(server, fake, tmp_path):
    mirror = _publish(server, "good", fake["gz"])
    report = fetch_dataset("mnist", tmp_path / "home", mirrors=[mirror], progress=False, timeout_s=5)
    directory = tmp_path / "home" / "mnist"
    assert report.directory == directory
    assert [f.status for f in report.files] == ["downloaded"] * 4
    assert [f.url for f in report.files] == [mirror + n for n in NAMES]
    for name in NAMES:
        assert (directory / name).read_bytes() == fake["gz"][name]
    assert _leftovers(directory) == []
    ds = load_mnist(data_home=tmp_path / "home")
    assert ds.x_train.shape == (5, 16) and ds.y_test.tolist() == [7, 8, 9]
    # Again: nothing transferred, every cached file checked.
    server.hits.clear()
    again = fetch_dataset("mnist", tmp_path / "home", mirrors=[mirror], progress=False)
    assert [(f.status, f.verified) for f in again.files] == [("cached", True)] * 4
    assert again.downloaded == 0 and server.hits == []
    # --force transfers everything again.
    forced = fetch_dataset("mnist", tmp_path / "home", mirrors=[mirror], force=True, progress=False)
    assert forced.downloaded == 4 and len(server.hits) == 4


def test_recompressed_copy_is_accepted(server, fake, tmp_path):
    """Mirrors recompress: the digest is of the content, so a different .gz of it is a faithful copy."""
    regz = {n: gzip.compress(b, compresslevel=1, mtime=12345) for n, b in fake["raw"].items()}
    assert regz != fake["gz"]
    report = fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "m", regz)], progress=False)
    assert report.downloaded == 4


def test_uncompressed_copy_is_kept_raw_and_replaces_a_gz(server, fake, tmp_path):
    directory = tmp_path / "mnist"
    directory.mkdir()
    (directory / NAMES[0]).write_bytes(b"stale")  # a bad cached .gz would shadow the raw copy
    report = fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "raw", fake["raw"])], progress=False)
    assert report.files[0].status == "replaced"
    assert sorted(p.name for p in directory.iterdir()) == sorted(STEMS)
    assert load_mnist(directory).n_train == 5


def test_progress_bar_on_request(server, fake, tmp_path, capsys):
    fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "good", fake["gz"])], progress=True)
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err
    fetch_dataset("mnist", tmp_path / "quiet", mirrors=[_publish(server, "good", fake["gz"])], progress=False)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------
# Bad copies: corrupt, truncated, dead mirrors


def _corrupt(raw: bytes) -> bytes:
    """The same length and a valid gzip stream, one pixel changed: only the digest can tell."""
    body = bytearray(raw)
    body[-1] ^= 0xFF
    return gzip.compress(bytes(body), mtime=0)


def test_corrupt_file_is_refused_and_next_mirror_used(server, fake, tmp_path):
    bad = dict(fake["gz"], **{NAMES[0]: _corrupt(fake["raw"][NAMES[0]])})
    first, second = _publish(server, "bad", bad), _publish(server, "good", fake["gz"])
    report = fetch_dataset("mnist", tmp_path, mirrors=[first, second], progress=False)
    images = report.files[0]
    assert images.url == second + NAMES[0]
    assert len(images.failed) == 1 and images.failed[0][0] == first + NAMES[0]
    assert "SHA-256 of the decompressed content is" in images.failed[0][1]
    assert "not the published file" in images.failed[0][1]
    # the other three were good on the first mirror
    assert [f.url for f in report.files[1:]] == [first + n for n in NAMES[1:]]
    assert (tmp_path / "mnist" / NAMES[0]).read_bytes() == fake["gz"][NAMES[0]]
    assert _leftovers(tmp_path / "mnist") == []


def test_corrupt_file_everywhere_names_the_file_and_keeps_nothing(server, fake, tmp_path):
    bad = dict(fake["gz"], **{NAMES[2]: _corrupt(fake["raw"][NAMES[2]])})
    mirror = _publish(server, "bad", bad)
    with pytest.raises(DataError) as info:
        fetch_dataset("mnist", tmp_path, mirrors=[mirror], progress=False)
    msg = str(info.value)
    assert msg.startswith(f"{NAMES[2]}: no mirror gave a good copy (1 tried); nothing was kept in {tmp_path / 'mnist'}")
    assert f"{mirror}{NAMES[2]}: SHA-256 of the decompressed content is" in msg
    assert fake["spec"].files[2].sha256 in msg
    directory = tmp_path / "mnist"
    # The two files before it are kept (they were checked); the bad one and nothing partial is.
    assert sorted(p.name for p in directory.iterdir()) == sorted(NAMES[:2])


def test_truncated_transfer_is_refused(server, fake, tmp_path):
    cut = _publish(server, "cut", fake["gz"], mode="truncate")
    good = _publish(server, "good", fake["gz"])
    report = fetch_dataset("mnist", tmp_path, mirrors=[cut, good], progress=False, timeout_s=5)
    for f in report.files:
        assert f.url.startswith(good)
        n = len(fake["gz"][f.name])
        assert f.failed == ((cut + f.name, f"truncated download: received {n // 2} of {n} bytes"),)
    assert _leftovers(tmp_path / "mnist") == []


def test_truncated_file_served_whole_is_refused(server, fake, tmp_path):
    """A copy truncated at its source (Content-Length agrees): the gzip stream or the size tells."""
    short = {n: b[: len(b) - 8] for n, b in fake["gz"].items()}  # drops the gzip trailer
    short[NAMES[1]] = gzip.compress(fake["raw"][NAMES[1]][:-2], mtime=0)  # a complete stream, 2 bytes short
    with pytest.raises(DataError) as info:
        fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "short", short)], progress=False)
    assert "corrupt gzip stream" in str(info.value) and NAMES[0] in str(info.value)
    assert not (tmp_path / "mnist").exists()  # created by this call and left empty: removed
    only_labels = dict(fake["gz"], **{NAMES[1]: short[NAMES[1]]})
    with pytest.raises(DataError, match=rf"{NAMES[1]}: .*content is {len(fake['raw'][NAMES[1]]) - 2} bytes, "
                                        rf"expected {len(fake['raw'][NAMES[1]])}; the file is truncated"):
        fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "s2", only_labels)], progress=False)
    assert _leftovers(tmp_path / "mnist") == []


def test_dead_and_missing_mirrors_then_a_good_one(server, fake, tmp_path, dead_mirror):
    missing = f"{server.base}/nothing-here/"
    good = _publish(server, "good", fake["gz"])
    report = fetch_dataset("mnist", tmp_path, mirrors=[dead_mirror, missing, good], progress=False, timeout_s=5)
    for f in report.files:
        assert f.status == "downloaded" and f.url == good + f.name
        (dead_url, dead_reason), (missing_url, missing_reason) = f.failed
        assert dead_url == dead_mirror + f.name and dead_reason.startswith("unreachable (")
        assert "refused" in dead_reason.lower()
        assert missing_url == missing + f.name and missing_reason == "HTTP 404 Not Found"


def test_wholly_unreachable(fake, tmp_path, dead_mirror):
    other_dead = dead_mirror.replace("/mnist/", "/other/")
    with pytest.raises(DataError) as info:
        fetch_dataset("mnist", tmp_path, mirrors=[dead_mirror, other_dead], progress=False, timeout_s=5)
    msg = str(info.value)
    assert msg.startswith(f"{NAMES[0]}: no mirror gave a good copy (2 tried)")
    assert f"{dead_mirror}{NAMES[0]}: unreachable" in msg and f"{other_dead}{NAMES[0]}: unreachable" in msg
    assert "--mirror" in msg
    assert list(tmp_path.iterdir()) == []  # not even an empty mnist/ directory


def test_oversized_download_is_cut_off(server, fake, tmp_path):
    """A mirror cannot fill the disk: more bytes than a faithful copy can take are refused."""
    huge = dict(fake["gz"], **{NAMES[3]: os.urandom(fake["spec"].files[3].max_download_bytes + 1)})
    with pytest.raises(DataError, match=rf"{NAMES[3]}: .*server announces \d+ bytes, more than a faithful copy"):
        fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "huge", huge)], progress=False)
    assert _leftovers(tmp_path / "mnist") == []


def test_gzip_bomb_is_not_decompressed_past_the_expected_size(server, fake, tmp_path):
    bomb = dict(fake["gz"], **{NAMES[1]: gzip.compress(bytes(10_000_000), mtime=0)})  # 10 MB of zeros, ~10 kB
    assert len(bomb[NAMES[1]]) < fake["spec"].files[1].max_download_bytes
    with pytest.raises(DataError, match=rf"{NAMES[1]}: .*content is longer than the {len(fake['raw'][NAMES[1]])} bytes"):
        fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "bomb", bomb)], progress=False)


def test_interrupted_download_leaves_no_partial_file(server, fake, tmp_path, monkeypatch):
    def interrupt(path, remote_file):
        raise KeyboardInterrupt

    monkeypatch.setattr(remote, "_check_content", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "good", fake["gz"])], progress=False)
    assert not (tmp_path / "mnist").exists()


def test_stale_partial_files_are_swept(server, fake, tmp_path):
    directory = tmp_path / "mnist"
    directory.mkdir()
    old, young = directory / f".{NAMES[0]}.dead.part", directory / f".{NAMES[1]}.busy.part"
    old.write_bytes(b"x")
    young.write_bytes(b"x")
    long_ago = time.time() - 2 * 86400
    os.utime(old, (long_ago, long_ago))
    fetch_dataset("mnist", tmp_path, mirrors=[_publish(server, "good", fake["gz"])], progress=False)
    assert not old.exists() and young.exists()  # a young one may belong to another process's fetch


def test_corrupt_cached_file_is_replaced(server, fake, tmp_path):
    mirror = _publish(server, "good", fake["gz"])
    fetch_dataset("mnist", tmp_path, mirrors=[mirror], progress=False)
    (tmp_path / "mnist" / NAMES[3]).write_bytes(_corrupt(fake["raw"][NAMES[3]]))
    with pytest.raises(DataError, match=rf"{NAMES[3]}: SHA-256"):
        verify_file(tmp_path / "mnist" / NAMES[3], fake["spec"].files[3])
    status = {d["dataset"]: d for d in cache_status(tmp_path, verify=True)}["mnist"]
    assert not status["complete"] and "SHA-256" in status["files"][3]["status"]
    report = fetch_dataset("mnist", tmp_path, mirrors=[mirror], progress=False)
    assert [f.status for f in report.files] == ["cached"] * 3 + ["replaced"]
    verify_file(tmp_path / "mnist" / NAMES[3], fake["spec"].files[3])


def test_unsupported_mirror_scheme(fake, tmp_path):
    with pytest.raises(ConfigError, match=r"mirror 'ftp://example\.org/mnist': unsupported scheme 'ftp'"):
        fetch_dataset("mnist", tmp_path, mirrors=["ftp://example.org/mnist"], progress=False)
    with pytest.raises(DataError, match="unknown downloadable data set 'cifar'"):
        fetch_dataset("cifar", tmp_path)


def test_local_directory_as_mirror(fake, tmp_path):
    src = tmp_path / "copy"
    src.mkdir()
    for name, body in fake["gz"].items():
        (src / name).write_bytes(body)
    report = fetch_dataset("mnist", tmp_path / "home", mirrors=[str(src)], progress=False)
    assert report.files[0].url == (src / NAMES[0]).as_uri()


# ---------------------------------------------------------------------------------------------
# The loaders' download=True


def test_load_mnist_download_into_data_home(server, fake, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_HOME_ENV_VAR, str(tmp_path / "home"))
    with pytest.raises(DataError, match="analog-eqprop data fetch mnist"):
        load_mnist()
    mirror = _publish(server, "good", fake["gz"])
    ds = load_mnist(download=True, mirrors=[mirror])
    assert ds.n_train == 5 and (tmp_path / "home" / "mnist" / NAMES[0]).is_file()
    server.hits.clear()
    assert load_dataset("mnist", download=True).n_train == 5  # cached: no request
    assert load_mnist().n_test == 3 and server.hits == []


def test_load_mnist_download_fills_only_missing_files_of_a_named_directory(server, fake, tmp_path, monkeypatch):
    own = tmp_path / "own"
    own.mkdir()
    mine = np.arange(6, dtype=np.uint8) % 10
    write_idx(own / "train-labels-idx1-ubyte.gz", mine)  # the user's own labels: never replaced
    write_idx(own / "train-images-idx3-ubyte.gz", np.zeros((6, 4, 4), np.uint8))
    mirror = _publish(server, "good", fake["gz"])
    ds = load_mnist(own, download=True, mirrors=[mirror])
    assert ds.y_train.tolist() == mine.tolist() and ds.y_test.tolist() == [7, 8, 9]
    assert sorted(server.hits) == sorted(f"/good/{n}" for n in NAMES[2:])
    # The environment variable's directory is filled the same way.
    monkeypatch.setenv(MNIST_ENV_VAR, str(tmp_path / "env"))
    assert load_mnist(download=True, mirrors=[mirror]).n_train == 5


def test_load_fashion_mnist_download(server, fake, tmp_path, monkeypatch):
    spec = fake["spec"]
    monkeypatch.setitem(REMOTE_DATASETS, "fashion-mnist", RemoteDataset("fashion-mnist", spec.mirrors, spec.files, ""))
    monkeypatch.delenv(FASHION_MNIST_ENV_VAR, raising=False)
    monkeypatch.setattr("analog_eqprop.data.datasets.FASHION_MNIST_DEBIAN_DIR", tmp_path / "no-debian")
    ds = load_fashion_mnist(data_home=tmp_path, download=True, mirrors=[_publish(server, "f", fake["gz"])])
    assert ds.name == "fashion-mnist" and ds.n_train == 5
    assert (tmp_path / "fashion-mnist" / NAMES[0]).is_file()


# ---------------------------------------------------------------------------------------------
# The data home


def test_data_home_order(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_HOME_ENV_VAR, str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv(DATA_HOME_ENV_VAR)
    monkeypatch.setattr(remote.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "analog_eqprop"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert data_home() == tmp_path / "user" / ".cache" / "analog_eqprop"
    monkeypatch.setattr(remote.sys, "platform", "darwin")
    assert data_home() == tmp_path / "user" / "Library" / "Caches" / "analog_eqprop"
    monkeypatch.setattr(remote.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert data_home() == tmp_path / "local" / "analog_eqprop" / "Cache"


def test_unwritable_data_home(fake, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DataError, match=rf"cannot create the data directory {blocker / 'mnist'}: .*--data-home"):
        fetch_dataset("mnist", blocker, mirrors=["http://127.0.0.1:9/"], progress=False)


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_fetch_and_list_json(server, fake, tmp_path, capsys):
    home = tmp_path / "home"
    mirror = _publish(server, "good", fake["gz"])
    assert main(["data", "fetch", "mnist", "--mirror", mirror, "--data-home", str(home), "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["data_home"] == str(home)
    (entry,) = doc["datasets"]
    assert entry["directory"] == str(home / "mnist")
    assert [f["status"] for f in entry["files"]] == ["downloaded"] * 4 and err == ""
    assert main(["data", "list", "--data-home", str(home), "--verify", "--json"]) == 0
    listing = {d["dataset"]: d for d in json.loads(capsys.readouterr().out)["datasets"]}
    assert listing["mnist"]["complete"] and listing["mnist"]["loads_from"] == str(home / "mnist")
    assert [f["status"] for f in listing["mnist"]["files"]] == ["ok"] * 4
    assert not listing["fashion-mnist"]["complete"]


def test_cli_text_output(server, fake, tmp_path, capsys, dead_mirror):
    home = tmp_path / "home"
    good = _publish(server, "good", fake["gz"])
    assert main(["data", "fetch", "mnist", "--mirror", dead_mirror, "--mirror", good, "--data-home", str(home)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"mnist: {home / 'mnist'}\n")
    assert f"downloaded from {good}{NAMES[0]}" in out and f"tried first {dead_mirror}{NAMES[0]}: unreachable" in out
    assert main(["data", "list", "--data-home", str(home)]) == 0
    out = capsys.readouterr().out
    assert f"data home: {home} (--data-home)" in out
    assert "mnist          complete, 4 files" in out and f"loads from: {home / 'mnist'}" in out


def test_cli_error_names_the_file(fake, tmp_path, capsys, dead_mirror):
    assert main(["data", "fetch", "mnist", "--mirror", dead_mirror, "--data-home", str(tmp_path), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"analog-eqprop data: error: {NAMES[0]}: no mirror gave a good copy (1 tried)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["data", "--help"], ["data", "fetch", "--help"], ["data", "list", "--help"]])
def test_cli_help(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--json" in out or "fetch" in out


# ---------------------------------------------------------------------------------------------
# The shipped digests against the real files


def test_shipped_mnist_digests_match_the_real_files_served_over_http(server, tmp_path):
    """The real MNIST through the real table: every file passes, and is the published content."""
    source = SHARED_MNIST
    if not all((source / n).is_file() for n in NAMES):
        pytest.skip(f"MNIST not present in {source}")
    mirror = _publish(server, "mnist", {n: (source / n).read_bytes() for n in NAMES})
    report = fetch_dataset("mnist", tmp_path, mirrors=[mirror], progress=False)
    assert [f.status for f in report.files] == ["downloaded"] * 4
    for name, md5, remote_file in zip(NAMES, PUBLISHED_MD5["mnist"], REMOTE_DATASETS["mnist"].files):
        content = gzip.decompress((tmp_path / "mnist" / name).read_bytes())
        assert hashlib.md5(content).hexdigest() == md5
        assert len(content) == remote_file.size


def test_shipped_fashion_digests_match_debian_package():
    if not all((FASHION_MNIST_DEBIAN_DIR / n).is_file() for n in NAMES):
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({FASHION_MNIST_DEBIAN_DIR})")
    for name, md5, remote_file in zip(NAMES, PUBLISHED_MD5["fashion-mnist"], REMOTE_DATASETS["fashion-mnist"].files):
        verify_file(FASHION_MNIST_DEBIAN_DIR / name, remote_file)
        assert hashlib.md5(gzip.decompress((FASHION_MNIST_DEBIAN_DIR / name).read_bytes())).hexdigest() == md5


def test_shipped_table_is_consistent():
    for spec in REMOTE_DATASETS.values():
        assert [f.name for f in spec.files] == list(NAMES)
        assert [f.size for f in spec.files] == [47040016, 60008, 7840016, 10008]
        assert all(len(f.sha256) == 64 and int(f.sha256, 16) >= 0 for f in spec.files)
        assert len(spec.mirrors) >= 3 and all(m.endswith("/") for m in spec.mirrors)
    assert REMOTE_DATASETS["mnist"].files[0].sha256 != REMOTE_DATASETS["fashion-mnist"].files[0].sha256
