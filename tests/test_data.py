"""Tests for analog_eqprop.data: the IDX reader/writer, the loaders, batching helpers."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analog_eqprop.data import (
    DATA_HOME_ENV_VAR,
    DATASETS,
    FASHION_MNIST_DEBIAN_DIR,
    FASHION_MNIST_ENV_VAR,
    IDX_DTYPES,
    MNIST_ENV_VAR,
    Dataset,
    iterate_minibatches,
    load_dataset,
    load_digits,
    load_iris,
    load_mnist,
    load_xor,
    one_hot,
    read_idx,
    resolve_data_dir,
    write_idx,
)
from analog_eqprop.data import datasets as datasets_module
from analog_eqprop.errors import ConfigError, DataError

# tests/conftest.py points $ANALOG_EQPROP_MNIST_DIR at ../shared/data/mnist beside the checkout.
SHARED_MNIST = Path(os.environ.get(MNIST_ENV_VAR) or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
MNIST_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    """Hand-built IDX content, independent of write_idx, so reader bugs are not mirrored."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


# ---------------------------------------------------------------------------------------------
# IDX round trips


@pytest.mark.parametrize("code", sorted(IDX_DTYPES))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_roundtrip_every_dtype(tmp_path, code, suffix):
    dtype = IDX_DTYPES[code].newbyteorder("=")
    rng = np.random.default_rng(code)
    if dtype.kind == "f":
        array = rng.standard_normal((3, 4, 5)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    write_idx(path, array)
    out = read_idx(path)
    assert out.dtype == dtype
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


@pytest.mark.parametrize("shape", [(7,), (2, 3), (2, 1, 3), (1, 2, 1, 2), (0,), (2, 0, 3)])
def test_roundtrip_shapes(tmp_path, shape):
    array = np.arange(int(np.prod(shape)), dtype=np.int16).reshape(shape)
    write_idx(tmp_path / "a.idx", array)
    out = read_idx(tmp_path / "a.idx")
    assert out.shape == shape
    np.testing.assert_array_equal(out, array)


def test_reader_matches_hand_built_big_endian_bytes(tmp_path):
    values = [1, -2, 300]
    path = tmp_path / "hand.idx"
    path.write_bytes(idx_bytes(0x0B, (3,), struct.pack(">3h", *values)))
    assert read_idx(path).tolist() == values


def test_writer_emits_big_endian_and_reproducible_gzip(tmp_path):
    write_idx(tmp_path / "a.idx", np.array([1, 256], dtype="<i4"))
    assert (tmp_path / "a.idx").read_bytes() == idx_bytes(0x0C, (2,), struct.pack(">2i", 1, 256))
    write_idx(tmp_path / "a.gz", np.array([1, 2], np.uint8))
    first = (tmp_path / "a.gz").read_bytes()
    write_idx(tmp_path / "a.gz", np.array([1, 2], np.uint8))
    assert (tmp_path / "a.gz").read_bytes() == first


def test_gzip_detected_by_content_not_name(tmp_path):
    raw = idx_bytes(0x08, (3,), bytes([5, 6, 7]))
    (tmp_path / "compressed-without-suffix").write_bytes(gzip.compress(raw))
    (tmp_path / "raw-with-suffix.gz").write_bytes(raw)
    assert read_idx(tmp_path / "compressed-without-suffix").tolist() == [5, 6, 7]
    assert read_idx(tmp_path / "raw-with-suffix.gz").tolist() == [5, 6, 7]


def test_write_rejects_unsupported_arrays(tmp_path):
    with pytest.raises(DataError, match=r"int64.*expected one of uint8, int8, int16, int32, float32, float64"):
        write_idx(tmp_path / "a.idx", np.arange(3, dtype=np.int64))
    with pytest.raises(DataError, match="5-dimensional array as IDX, expected 1 to 4"):
        write_idx(tmp_path / "a.idx", np.zeros((1, 1, 1, 1, 1), np.uint8))
    with pytest.raises(DataError, match="0-dimensional"):
        write_idx(tmp_path / "a.idx", np.uint8(3))


# ---------------------------------------------------------------------------------------------
# IDX errors: each names the file, the problem and what was expected


def test_truncated_payload_message(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, (60000, 28, 28), bytes(1000))))
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert str(info.value) == (
        f"{path}: truncated: header declares 60000x28x28 = 47040000 bytes of uint8 data "
        "but only 1000 are present"
    )


def test_truncated_multibyte_payload_names_values_and_bytes(tmp_path):
    path = tmp_path / "f.idx"
    path.write_bytes(idx_bytes(0x0D, (10, 2), bytes(12)))
    with pytest.raises(DataError, match=r"f\.idx: truncated: header declares 10x2 = 20 values of float32 \(80 bytes\) but only 12"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(idx_bytes(0x08, (3,), bytes(5)))
    with pytest.raises(DataError, match=r"labels\.idx: 2 trailing byte\(s\) after the data: header declares 3 = 3 bytes of uint8 data but 5 are present"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = tmp_path / "notidx.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    with pytest.raises(DataError, match=r"notidx\.bin: bad magic number 0x89504E47: the first two bytes must be zero; this is not an IDX file"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = tmp_path / "weird.idx"
    path.write_bytes(idx_bytes(0x0A, (1,), b"\x00"))
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert "weird.idx: unknown IDX type code 0x0A" in message
    assert "expected one of 0x08 (uint8), 0x09 (int8), 0x0B (int16), 0x0C (int32), 0x0D (float32), 0x0E (float64)" in message


@pytest.mark.parametrize("ndim", [0, 5, 255])
def test_implausible_number_of_dims(tmp_path, ndim):
    path = tmp_path / "dims.idx"
    path.write_bytes(bytes([0, 0, 8, ndim]) + bytes(4 * ndim))
    with pytest.raises(DataError, match=rf"dims\.idx: header declares {ndim} dimension\(s\), expected 1 to 4"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(bytes([0, 0, 8]))
    with pytest.raises(DataError, match=r"short\.idx: truncated header: 3 byte\(s\), expected at least 4"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 1]))
    with pytest.raises(DataError, match=r"truncated header: 3 dimension\(s\) need 16 header bytes but the file has 8"):
        read_idx(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty-idx1-ubyte"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty-idx1-ubyte: empty file, expected an IDX header"):
        read_idx(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.idx: no such file"):
        read_idx(tmp_path / "nothere.idx")
    with pytest.raises(DataError, match="is a directory, expected an IDX file"):
        read_idx(tmp_path)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda gz: gz[: len(gz) // 2], id="cut-off"),
        pytest.param(lambda gz: gz[:12] + bytes(b ^ 0xFF for b in gz[12:30]) + gz[30:], id="flipped-bits"),
        pytest.param(lambda gz: gz[:-8] + b"\x00\x00\x00\x00" + gz[-4:], id="bad-crc"),
        pytest.param(lambda gz: b"\x1f\x8b\x09" + gz[3:], id="bad-method"),
    ],
)
def test_corrupt_gzip(tmp_path, damage):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    good = gzip.compress(idx_bytes(0x08, (50, 28, 28), bytes(range(256)) * 153 + bytes(112)))
    path.write_bytes(damage(good))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: corrupt gzip stream .*expected a complete gzip file"):
        read_idx(path)


def test_gzip_of_nothing(tmp_path):
    path = tmp_path / "nothing.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match="decompresses to nothing"):
        read_idx(path)


@pytest.fixture(scope="module")
def scratch_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "fuzz.idx"


_plausible_headers = st.builds(
    lambda code, dims, body: bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + body,
    st.sampled_from([*IDX_DTYPES, 0x00, 0x0A, 0xFF]),
    st.lists(st.integers(0, 6) | st.integers(0, 2**32 - 1), min_size=0, max_size=5),
    st.binary(max_size=64),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=64) | _plausible_headers | _plausible_headers.map(gzip.compress))
def test_read_idx_on_arbitrary_bytes_returns_array_or_raises_data_error(scratch_file, content):
    scratch_file.write_bytes(content)
    try:
        out = read_idx(scratch_file)
    except DataError as exc:
        assert str(scratch_file) in str(exc)
    else:
        assert isinstance(out, np.ndarray)
        assert 1 <= out.ndim <= 4


def test_read_idx_with_a_zero_size_and_huge_others_raises_data_error(tmp_path):
    """Found by the fuzz test above in CI: zero values, but sizes whose product overflows NumPy's
    index range (0 x 2 x 553648128 x 1041235968 float64) made NumPy raise a bare ValueError."""
    p = tmp_path / "huge.idx"
    p.write_bytes(b"\x00\x00\x0e\x04\x00\x00\x00\x00\x00\x00\x00\x02!\x00\x00\x00>\x10\x00\x00")
    with pytest.raises(DataError, match="too large for an array on this machine"):
        read_idx(p)
    # a zero size with small others is an empty array, as before
    write_idx(p, np.zeros((0, 3), np.uint8))
    assert read_idx(p).shape == (0, 3)


# ---------------------------------------------------------------------------------------------
# MNIST-layout loading on small stand-in files


def make_mnist_dir(directory: Path, n_train: int = 6, n_test: int = 3, side: int = 4, gz: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10,
    }
    for stem, array in arrays.items():
        write_idx(directory / f"{stem}{suffix}", array)
    return directory


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_layout(tmp_path, gz):
    directory = make_mnist_dir(tmp_path / "m", gz=gz)
    ds = load_mnist(directory)
    images = read_idx(directory / f"train-images-idx3-ubyte{'.gz' if gz else ''}")
    assert ds.name == "mnist" and ds.n_classes == 10
    assert ds.x_train.shape == (6, 16) and ds.x_test.shape == (3, 16)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    np.testing.assert_allclose(ds.x_train, images.reshape(6, 16) / 255.0)
    assert ds.y_train.tolist() == [0, 1, 2, 3, 4, 5]
    assert ds.x_valid is None


def test_load_mnist_prefers_gz_when_both_present(tmp_path):
    directory = make_mnist_dir(tmp_path / "m", n_train=6)
    make_mnist_dir(directory, n_train=2, gz=False)
    assert load_mnist(directory).n_train == 6


def test_mnist_dir_from_env_var(tmp_path, monkeypatch):
    make_mnist_dir(tmp_path / "env")
    monkeypatch.setenv(MNIST_ENV_VAR, str(tmp_path / "env"))
    assert resolve_data_dir("mnist") == tmp_path / "env"
    assert load_mnist().n_train == 6
    # An explicit argument wins over the environment.
    make_mnist_dir(tmp_path / "arg", n_train=2)
    assert load_dataset("mnist", tmp_path / "arg").n_train == 2


def test_fashion_dir_from_env_var(tmp_path, monkeypatch):
    make_mnist_dir(tmp_path / "fashion")
    monkeypatch.setenv(FASHION_MNIST_ENV_VAR, str(tmp_path / "fashion"))
    assert load_dataset("fashion_mnist").name == "fashion-mnist"


def test_missing_directory_messages(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=rf"mnist data directory {tmp_path / 'nope'} \(from data_dir\) does not exist; download it with `analog-eqprop data fetch mnist` \(or download=True\), pass data_dir=\.\.\. \(--data-dir\), or set the environment variable {MNIST_ENV_VAR}"):
        load_mnist(tmp_path / "nope")
    monkeypatch.setenv(FASHION_MNIST_ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(DataError, match=rf"from \${FASHION_MNIST_ENV_VAR}\) does not exist; .*apt-get install dataset-fashion-mnist"):
        load_mnist(kind="fashion-mnist")


def test_missing_default_directories(tmp_path, monkeypatch):
    monkeypatch.delenv(MNIST_ENV_VAR, raising=False)
    monkeypatch.delenv(FASHION_MNIST_ENV_VAR, raising=False)
    monkeypatch.setenv(DATA_HOME_ENV_VAR, str(tmp_path / "home"))
    monkeypatch.setattr(datasets_module, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "debian")
    with pytest.raises(DataError, match=rf"mnist data not found \(looked in {tmp_path / 'home' / 'mnist'}\); download it with `analog-eqprop data fetch mnist`.*{MNIST_ENV_VAR}"):
        load_mnist()
    with pytest.raises(DataError, match=rf"looked in {tmp_path / 'home' / 'fashion-mnist'}, {tmp_path / 'debian'}\).*{FASHION_MNIST_ENV_VAR}, or on Debian: apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    # An incomplete directory in the data home (an interrupted fetch) does not count ...
    make_mnist_dir(tmp_path / "home" / "mnist")
    (tmp_path / "home" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="mnist data not found"):
        resolve_data_dir("mnist")
    # ... a complete one does, and so does Debian's directory for Fashion-MNIST.
    make_mnist_dir(tmp_path / "home" / "mnist")
    assert resolve_data_dir("mnist") == tmp_path / "home" / "mnist"
    assert load_mnist().n_train == 6
    make_mnist_dir(tmp_path / "debian", n_train=2)
    assert resolve_data_dir("fashion-mnist") == tmp_path / "debian"
    make_mnist_dir(tmp_path / "home" / "fashion-mnist")
    assert resolve_data_dir("fashion-mnist") == tmp_path / "home" / "fashion-mnist"
    # data_home= overrides the environment
    make_mnist_dir(tmp_path / "other" / "mnist", n_train=3)
    assert load_mnist(data_home=tmp_path / "other").n_train == 3


def test_fashion_default_is_debian_location(tmp_path):
    assert FASHION_MNIST_DEBIAN_DIR == Path("/usr/share/datasets/fashion-mnist")
    assert datasets_module._default_dirs("fashion-mnist", tmp_path) == (tmp_path / "fashion-mnist", FASHION_MNIST_DEBIAN_DIR)
    assert datasets_module._default_dirs("mnist", tmp_path) == (tmp_path / "mnist",)
    with pytest.raises(DataError, match="unknown IDX data set kind 'cifar'"):
        resolve_data_dir("cifar")
    with pytest.raises(DataError, match="unknown IDX data set kind 'cifar'"):
        load_mnist(kind="cifar", download=True)


def test_library_names_no_machine_or_repository_path():
    """The library must work installed: no /work, no ../shared, no path built from its own location."""
    import analog_eqprop.data as pkg

    for source in Path(pkg.__file__).parent.glob("*.py"):
        text = source.read_text()
        assert "/work" not in text.replace("/working", ""), source
        assert "shared/data" not in text and '"shared"' not in text, source
        assert "parents[" not in text and "__file__" not in text, source


def test_missing_file_lists_what_was_looked_for(tmp_path):
    directory = make_mnist_dir(tmp_path / "m")
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing t10k-labels-idx1-ubyte: looked for t10k-labels-idx1-ubyte\.gz and t10k-labels-idx1-ubyte"):
        load_mnist(directory)


def test_count_mismatch(tmp_path):
    directory = make_mnist_dir(tmp_path / "m")
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz has 6 images but train-labels-idx1-ubyte\.gz has 5 labels; expected one label per image"):
        load_mnist(directory)


def test_train_test_image_size_mismatch(tmp_path):
    directory = make_mnist_dir(tmp_path / "m", side=4)
    write_idx(directory / "t10k-images-idx3-ubyte.gz", np.zeros((3, 5, 5), np.uint8))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz has 5x5 images but the training images are 4x4"):
        load_mnist(directory)


def test_images_must_be_uint8_3d(tmp_path):
    directory = make_mnist_dir(tmp_path / "m")
    write_idx(directory / "train-images-idx3-ubyte.gz", np.zeros((6, 16), np.float32))
    with pytest.raises(DataError, match=r"expected uint8 images of shape \(N, rows, cols\), got float32 of shape \(6, 16\)"):
        load_mnist(directory)


def test_label_out_of_range_in_files(tmp_path):
    directory = make_mnist_dir(tmp_path / "m")
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 12], np.uint8))
    with pytest.raises(DataError, match=r"y_test has labels in \[0, 12\], expected \[0, 9\]"):
        load_mnist(directory)


def test_corrupt_file_surfaces_through_loader(tmp_path):
    directory = make_mnist_dir(tmp_path / "m")
    path = directory / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: corrupt gzip stream"):
        load_mnist(directory)


# ---------------------------------------------------------------------------------------------
# The real MNIST, when the shared copy is present


@pytest.fixture(scope="module")
def mnist():
    if not all((SHARED_MNIST / f"{stem}.gz").is_file() or (SHARED_MNIST / stem).is_file() for stem in MNIST_STEMS):
        pytest.skip(f"MNIST not present in {SHARED_MNIST}")
    return load_mnist(SHARED_MNIST)


def test_mnist_published_counts(mnist):
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert int((mnist.y_train == 0).sum()) == 5923
    assert int((mnist.y_test == 0).sum()) == 980
    assert np.bincount(mnist.y_train).tolist()[1] == 6742
    assert mnist.x_train.min() == 0.0 and mnist.x_train.max() == 1.0


def test_mnist_validation_split_like_the_seed_code(mnist):
    ds = mnist.split_validation(10000)
    assert ds.n_train == 50000 and ds.n_valid == 10000 and ds.n_test == 10000
    np.testing.assert_array_equal(ds.y_valid, mnist.y_train[50000:])
    assert np.shares_memory(ds.x_valid, mnist.x_train)


# ---------------------------------------------------------------------------------------------
# Built-in data sets


def test_digits():
    ds = load_digits()
    assert (ds.n_train, ds.n_test, ds.n_features, ds.n_classes) == (1437, 360, 64, 10)
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0 and ds.x_test.max() <= 1.0
    # Stratified: each class gets its share of the 360 test images (about 36 each).
    assert np.bincount(ds.y_test, minlength=10).min() >= 35
    np.testing.assert_array_equal(load_digits().y_test, ds.y_test)


def test_iris():
    ds = load_iris()
    assert (ds.n_train, ds.n_test, ds.n_features, ds.n_classes) == (120, 30, 4, 3)
    np.testing.assert_allclose(ds.x_train.min(axis=0), 0.0)
    np.testing.assert_allclose(ds.x_train.max(axis=0), 1.0)
    assert ds.x_test.min() >= 0.0 and ds.x_test.max() <= 1.0
    assert np.bincount(ds.y_test).tolist() == [10, 10, 10]
    assert np.bincount(ds.y_train).tolist() == [40, 40, 40]


def test_xor():
    ds = load_xor()
    assert ds.x_train.shape == (4, 2) and ds.n_classes == 2
    assert set(np.unique(ds.x_train)) == {0.0, 1.0}
    np.testing.assert_array_equal(ds.y_train, np.logical_xor(ds.x_train[:, 0], ds.x_train[:, 1]))
    np.testing.assert_array_equal(ds.x_test, ds.x_train)
    assert not np.shares_memory(ds.x_test, ds.x_train)


def test_load_dataset_dispatch():
    assert DATASETS == ("digits", "mnist", "fashion-mnist", "iris", "xor")
    assert load_dataset("Iris").name == "iris"
    with pytest.raises(DataError, match="unknown data set 'cifar10', expected one of: digits, mnist, fashion-mnist, iris, xor"):
        load_dataset("cifar10")
    with pytest.raises(DataError, match="data_dir applies to mnist and fashion-mnist only"):
        load_dataset("xor", data_dir="/tmp")


# ---------------------------------------------------------------------------------------------
# Dataset validation, split_validation, subset


def toy(**changes):
    fields = dict(
        name="toy",
        x_train=np.linspace(0, 1, 12).reshape(6, 2),
        y_train=np.array([0, 1, 2, 0, 1, 2]),
        x_test=np.zeros((2, 2)),
        y_test=np.array([1, 2]),
        n_classes=3,
    )
    fields.update(changes)
    return Dataset(**fields)


def test_dataset_converts_types():
    ds = toy(x_train=np.ones((6, 2), np.float32), y_train=np.array([0, 1, 2, 0, 1, 2], np.uint8))
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert toy(y_test=np.array([1.0, 2.0])).y_test.dtype == np.int64


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"y_train": np.array([0, 1, 2])}, "x_train has 6 rows but y_train has 3 labels"),
        ({"x_test": np.zeros((2, 3))}, "x_test has 3 features but x_train has 2"),
        ({"y_test": np.array([0, 3])}, r"y_test has labels in \[0, 3\], expected \[0, 2\] for n_classes=3"),
        ({"y_test": np.array([-1, 0])}, r"y_test has labels in \[-1, 0\]"),
        ({"x_train": np.full((6, 2), np.nan)}, "x_train contains NaN"),
        ({"x_train": np.zeros((0, 2)), "y_train": np.zeros(0, int)}, "the training split is empty"),
        ({"x_train": np.zeros(6)}, r"x_train must have shape \(N, D\)"),
        ({"y_test": np.array([0.5, 1.0])}, "y_test must hold integer class labels"),
        ({"y_train": np.zeros((6, 1), int)}, "y_train must be a 1-D label vector"),
        ({"x_valid": np.zeros((1, 2))}, "x_valid and y_valid must both be given"),
        ({"x_valid": np.zeros((1, 5)), "y_valid": np.array([0])}, "x_valid has 5 features"),
        ({"n_classes": 0}, "n_classes must be a positive integer"),
    ],
)
def test_dataset_validation(changes, message):
    with pytest.raises(DataError, match=rf"toy: {message}"):
        toy(**changes)


def test_dataset_is_frozen():
    with pytest.raises(AttributeError):
        toy().name = "other"


def test_split_validation_takes_the_last_examples():
    ds = toy()
    split = ds.split_validation(2)
    assert (split.n_train, split.n_valid, split.n_test) == (4, 2, 2)
    np.testing.assert_array_equal(split.x_valid, ds.x_train[4:])
    np.testing.assert_array_equal(split.y_valid, [1, 2])
    np.testing.assert_array_equal(split.x_train, ds.x_train[:4])
    assert ds.x_valid is None  # the original is unchanged
    with pytest.raises(DataError, match="already has a validation split of 2 examples"):
        split.split_validation(1)
    for bad in (0, 6, -1):
        with pytest.raises(DataError, match=rf"n_valid={bad} out of range, expected 1 to 5"):
            ds.split_validation(bad)


def test_subset_keeps_the_first_examples():
    ds = toy().split_validation(2)
    sub = ds.subset(n_train=3, n_test=1, n_valid=1)
    np.testing.assert_array_equal(sub.y_train, [0, 1, 2])
    np.testing.assert_array_equal(sub.y_test, [1])
    np.testing.assert_array_equal(sub.y_valid, [1])
    assert ds.subset(n_train=100).n_train == 4
    assert ds.subset().n_test == 2
    with pytest.raises(ConfigError, match="subset n_test must be at least 1"):
        ds.subset(n_test=0)


# ---------------------------------------------------------------------------------------------
# one_hot and iterate_minibatches


def test_one_hot():
    out = one_hot(np.array([1, 0, 2]), 3)
    np.testing.assert_array_equal(out, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert out.dtype == np.float64
    assert one_hot([0, 1], 2, dtype=np.float32).dtype == np.float32
    assert one_hot(np.zeros((2, 3), int), 4).shape == (2, 3, 4)
    assert one_hot(np.array([], dtype=int), 3).shape == (0, 3)
    with pytest.raises(DataError, match=r"labels in \[0, 3\], expected \[0, 2\]"):
        one_hot([0, 3], 3)
    with pytest.raises(DataError, match="labels must be integers"):
        one_hot([0.5], 3)
    with pytest.raises(ConfigError, match="n_classes must be at least 1"):
        one_hot([0], 0)


@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (10, 5), (10, 1), (10, 20), (1, 1), (0, 4)])
def test_minibatches_cover_every_index_once(n, batch_size):
    rng = np.random.default_rng(1)
    for _epoch in range(2):
        batches = list(iterate_minibatches(n, batch_size, rng))
        assert all(0 < len(b) <= batch_size for b in batches)
        assert all(b.dtype == np.int64 for b in batches)
        covered = np.concatenate(batches) if batches else np.array([], np.int64)
        assert sorted(covered.tolist()) == list(range(n))
        assert len(batches) == -(-n // batch_size)


def test_minibatches_shuffle_and_determinism():
    first = np.concatenate(list(iterate_minibatches(100, 7, np.random.default_rng(3))))
    again = np.concatenate(list(iterate_minibatches(100, 7, np.random.default_rng(3))))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, np.arange(100))
    ordered = np.concatenate(list(iterate_minibatches(100, 7, shuffle=False)))
    np.testing.assert_array_equal(ordered, np.arange(100))


def test_minibatches_drop_last():
    batches = list(iterate_minibatches(10, 3, np.random.default_rng(0), drop_last=True))
    assert [len(b) for b in batches] == [3, 3, 3]
    assert len(np.unique(np.concatenate(batches))) == 9
    assert list(iterate_minibatches(2, 3, drop_last=True)) == []


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_minibatches_bad_batch_size(bad):
    with pytest.raises(ConfigError):
        list(iterate_minibatches(10, bad))


def test_minibatches_bad_n():
    with pytest.raises(ConfigError, match="n must be a non-negative integer"):
        list(iterate_minibatches(-1, 2))
