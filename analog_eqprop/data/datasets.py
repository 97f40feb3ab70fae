"""Classification data sets as plain arrays: MNIST, Fashion-MNIST, scikit-learn digits, Iris, XOR.

Every loader returns a :class:`Dataset`: features ``(N, D)`` ``float64`` in [0, 1] (the range an
input voltage source is driven over), labels ``(N,)`` ``int64`` in ``[0, n_classes)``.
MNIST and Fashion-MNIST are read from local IDX files (see :func:`resolve_data_dir` for where
they are looked for) and downloaded on request (``download=True``, or ``analog-eqprop data fetch``;
see :mod:`analog_eqprop.data.remote`); the others ship with scikit-learn or are built in.

Splits are deterministic so that runs are comparable across machines:

======== ======= ====== ==================================================================
name     train   test   source and split
======== ======= ====== ==================================================================
digits   1437    360    sklearn 8x8 digits, stratified ``train_test_split(random_state=0)``
iris     120     30     sklearn Iris, stratified ``train_test_split(random_state=0)``
xor      4       4      the four XOR patterns, train and test identical
mnist    60000   10000  the published split; :meth:`Dataset.split_validation` carves 10k off
fashion  60000   10000  Fashion-MNIST (name ``"fashion-mnist"``), same layout as MNIST
======== ======= ====== ==================================================================
"""

from __future__ import annotations

import dataclasses
import operator
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import numpy as np

from analog_eqprop.data.idx import PathLike, read_idx
from analog_eqprop.data.remote import data_home as remote_data_home
from analog_eqprop.data.remote import fetch_dataset
from analog_eqprop.errors import ConfigError, DataError

__all__ = [
    "DATASETS",
    "FASHION_MNIST_DEBIAN_DIR",
    "FASHION_MNIST_ENV_VAR",
    "MNIST_ENV_VAR",
    "Dataset",
    "iterate_minibatches",
    "load_dataset",
    "load_digits",
    "load_iris",
    "load_fashion_mnist",
    "load_mnist",
    "load_xor",
    "one_hot",
    "resolve_data_dir",
]

#: Names accepted by :func:`load_dataset`.
DATASETS = ("digits", "mnist", "fashion-mnist", "iris", "xor")

#: Environment variable naming the MNIST directory.
MNIST_ENV_VAR = "ANALOG_EQPROP_MNIST_DIR"
#: Environment variable naming the Fashion-MNIST directory.
FASHION_MNIST_ENV_VAR = "ANALOG_EQPROP_FASHION_MNIST_DIR"
#: Where Debian's ``dataset-fashion-mnist`` package installs the four gzipped IDX files; a
#: fallback after the data home, as a distribution's location rather than this project's.
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

_ENV_VARS = {"mnist": MNIST_ENV_VAR, "fashion-mnist": FASHION_MNIST_ENV_VAR}
_INSTALL_HINTS = {
    "mnist": "",
    "fashion-mnist": ", or on Debian: apt-get install dataset-fashion-mnist",
}
_MNIST_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _as_labels(y: object, field: str) -> np.ndarray:
    """Return ``y`` as an ``int64`` vector, refusing fractional or non-numeric labels."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(f"{field} must be a 1-D label vector, got shape {arr.shape}")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    raise DataError(f"{field} must hold integer class labels, got dtype {arr.dtype}")


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set split into train, test and optionally validation parts.

    Arrays are converted on construction (features to ``float64``, labels to ``int64``) and
    checked: every split has as many labels as rows, all splits have the same number of features,
    features are finite and labels lie in ``[0, n_classes)``. Equality is identity: comparing
    arrays element-wise has no single truth value.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"mnist"``.
    x_train, x_test : numpy.ndarray
        Features, shape ``(N, D)``; by convention in [0, 1] (all loaders here scale to that range).
    y_train, y_test : numpy.ndarray
        Class labels, shape ``(N,)``.
    n_classes : int
        Number of classes (output units of a classifier).
    x_valid, y_valid : numpy.ndarray or None
        Validation split, both present or both ``None``; see :meth:`split_validation`.

    Examples
    --------
    >>> import numpy as np
    >>> ds = Dataset("toy", np.zeros((6, 3)), np.array([0, 1, 2, 0, 1, 2]),
    ...              np.ones((2, 3)), np.array([1, 2]), n_classes=3)
    >>> ds.n_features, ds.n_train, ds.n_test
    (3, 6, 2)
    >>> ds.split_validation(2).y_valid
    array([1, 2])
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    x_valid: Optional[np.ndarray] = None
    y_valid: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if not isinstance(self.n_classes, (int, np.integer)) or self.n_classes < 1:
            raise DataError(f"{self.name}: n_classes must be a positive integer, got {self.n_classes!r}")
        if (self.x_valid is None) != (self.y_valid is None):
            raise DataError(f"{self.name}: x_valid and y_valid must both be given or both be None")
        splits = ["train", "test"] + (["valid"] if self.x_valid is not None else [])
        n_features = None
        for split in splits:
            x = np.asarray(getattr(self, f"x_{split}"), dtype=np.float64)
            y = _as_labels(getattr(self, f"y_{split}"), f"{self.name}: y_{split}")
            if x.ndim != 2:
                raise DataError(f"{self.name}: x_{split} must have shape (N, D), got {x.shape}")
            if x.shape[0] != y.shape[0]:
                raise DataError(
                    f"{self.name}: x_{split} has {x.shape[0]} rows but y_{split} has {y.shape[0]} labels"
                )
            if n_features is None:
                n_features = x.shape[1]
            elif x.shape[1] != n_features:
                raise DataError(
                    f"{self.name}: x_{split} has {x.shape[1]} features but x_train has {n_features}"
                )
            if not np.all(np.isfinite(x)):
                raise DataError(f"{self.name}: x_{split} contains NaN or infinite values")
            if y.size and (y.min() < 0 or y.max() >= self.n_classes):
                raise DataError(
                    f"{self.name}: y_{split} has labels in [{y.min()}, {y.max()}], "
                    f"expected [0, {self.n_classes - 1}] for n_classes={self.n_classes}"
                )
            # Frozen dataclass: the converted arrays must be stored behind __setattr__'s back.
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)
        if self.x_train.shape[0] == 0:
            raise DataError(f"{self.name}: the training split is empty")
        object.__setattr__(self, "n_classes", int(self.n_classes))

    @property
    def n_features(self) -> int:
        """Number of input features ``D`` (input units of a network)."""
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return int(self.x_test.shape[0])

    @property
    def n_valid(self) -> int:
        """Number of validation examples (0 when there is no validation split)."""
        return 0 if self.x_valid is None else int(self.x_valid.shape[0])

    def split_validation(self, n_valid: int) -> Dataset:
        """Return a copy whose last ``n_valid`` training examples form the validation split.

        The last rather than a random slice, as in the seed paper's code (MNIST: first 50,000
        training images train, last 10,000 validate), so that the split is reproducible
        without a seed. The arrays are views of this data set's arrays.

        Parameters
        ----------
        n_valid : int
            Validation size, ``1 <= n_valid < n_train``.

        Returns
        -------
        Dataset
            With ``n_train - n_valid`` training and ``n_valid`` validation examples.

        Raises
        ------
        DataError
            If the data set already has a validation split or ``n_valid`` is out of range.

        Examples
        --------
        >>> ds = load_xor().split_validation(1)
        >>> ds.n_train, ds.x_valid.tolist(), ds.y_valid.tolist()
        (3, [[1.0, 1.0]], [0])
        """
        if self.x_valid is not None:
            raise DataError(f"{self.name}: already has a validation split of {self.n_valid} examples")
        n_valid = int(n_valid)
        if not 1 <= n_valid < self.n_train:
            raise DataError(
                f"{self.name}: n_valid={n_valid} out of range, expected 1 to {self.n_train - 1} "
                f"(the training split has {self.n_train} examples)"
            )
        cut = self.n_train - n_valid
        return dataclasses.replace(
            self,
            x_train=self.x_train[:cut],
            y_train=self.y_train[:cut],
            x_valid=self.x_train[cut:],
            y_valid=self.y_train[cut:],
        )

    def subset(
        self,
        n_train: Optional[int] = None,
        n_test: Optional[int] = None,
        *,
        n_valid: Optional[int] = None,
    ) -> Dataset:
        """Return a copy keeping the first ``n`` examples of each split, for quick runs.

        Parameters
        ----------
        n_train, n_test, n_valid : int or None
            Number of examples to keep; ``None`` keeps the split whole, and a number larger than
            the split keeps it whole too (like slicing), so one quick-run setting serves every
            data set.

        Raises
        ------
        ConfigError
            If a count is below 1.

        Examples
        --------
        >>> ds = load_digits().subset(n_train=100, n_test=10)
        >>> ds.n_train, ds.n_test
        (100, 10)
        """
        for label, n in (("n_train", n_train), ("n_test", n_test), ("n_valid", n_valid)):
            if n is not None and int(n) < 1:
                raise ConfigError(f"{self.name}: subset {label} must be at least 1, got {n}")
        changes = {}
        for split, n in (("train", n_train), ("test", n_test), ("valid", n_valid)):
            x = getattr(self, f"x_{split}")
            if n is not None and x is not None:
                changes[f"x_{split}"] = x[: int(n)]
                changes[f"y_{split}"] = getattr(self, f"y_{split}")[: int(n)]
        return dataclasses.replace(self, **changes)


def _default_dirs(kind: str, data_home: Optional[PathLike]) -> tuple[Path, ...]:
    """Directories tried, in order, when neither an argument nor the environment names one."""
    cached = remote_data_home(data_home) / kind
    if kind == "fashion-mnist":
        return (cached, FASHION_MNIST_DEBIAN_DIR)
    return (cached,)


def _is_complete(directory: Path) -> bool:
    """Whether ``directory`` holds all four IDX files (gzipped or raw)."""
    return all((directory / f"{stem}.gz").is_file() or (directory / stem).is_file() for stem in _MNIST_STEMS.values())


def _explicit_dir(kind: str, data_dir: Optional[PathLike]) -> Optional[tuple[Path, str]]:
    """The directory named by the argument or the environment variable, with where it came from."""
    env_var = _ENV_VARS[kind]
    if data_dir is not None:
        return Path(data_dir).expanduser(), "data_dir"
    if os.environ.get(env_var):
        return Path(os.environ[env_var]).expanduser(), f"${env_var}"
    return None


def _download_dir(
    kind: str, data_dir: Optional[PathLike], data_home: Optional[PathLike], mirrors: Optional[list[str]]
) -> Path:
    """Like :func:`resolve_data_dir`, but fetch the files that are missing instead of failing.

    An explicit directory (argument or environment variable) gets its missing files; files
    already there are kept untouched, whatever they hold. Otherwise a complete default
    directory is used as it is, and failing one the files go to the data home.
    """
    explicit = _explicit_dir(kind, data_dir)
    if explicit is not None:
        if _is_complete(explicit[0]):
            return explicit[0]
        return fetch_dataset(kind, directory=explicit[0], mirrors=mirrors, verify_cached=False).directory
    for candidate in _default_dirs(kind, data_home):
        if _is_complete(candidate):
            return candidate
    return fetch_dataset(kind, data_home, mirrors=mirrors, verify_cached=False).directory


def resolve_data_dir(
    kind: str = "mnist", data_dir: Optional[PathLike] = None, *, data_home: Optional[PathLike] = None
) -> Path:
    """Return the directory holding the IDX files of ``kind`` (``"mnist"`` or ``"fashion-mnist"``).

    Looked for in this order: ``data_dir``; the environment variable
    ``ANALOG_EQPROP_MNIST_DIR`` / ``ANALOG_EQPROP_FASHION_MNIST_DIR``; the data set's directory
    in the data home (``DATA_HOME/mnist``, where ``analog-eqprop data fetch`` puts the files;
    see :func:`~analog_eqprop.data.remote.data_home`); for Fashion-MNIST then
    ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``). A default
    directory counts only when it holds all four files.

    Raises
    ------
    DataError
        If ``kind`` is unknown, or no directory is found; the message says how to get the data.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     resolve_data_dir("mnist", tmp) == Path(tmp)
    True
    """
    if kind not in _ENV_VARS:
        raise DataError(f"unknown IDX data set kind {kind!r}, expected one of {sorted(_ENV_VARS)}")
    env_var = _ENV_VARS[kind]
    how = (
        f"download it with `analog-eqprop data fetch {kind}` (or download=True), pass data_dir=... "
        f"(--data-dir), or set the environment variable {env_var}{_INSTALL_HINTS[kind]}"
    )
    explicit = _explicit_dir(kind, data_dir)
    if explicit is not None:
        chosen, source = explicit
    else:
        candidates = _default_dirs(kind, data_home)
        for candidate in candidates:
            if _is_complete(candidate):
                return candidate
        tried = ", ".join(str(p) for p in candidates)
        raise DataError(f"{kind} data not found (looked in {tried}); {how}")
    if not chosen.is_dir():
        raise DataError(f"{kind} data directory {chosen} (from {source}) does not exist; {how}")
    return chosen


def _find_idx(directory: Path, stem: str) -> Path:
    """Return ``directory/stem.gz`` or ``directory/stem``, whichever exists (gzipped first)."""
    candidates = (directory / f"{stem}.gz", directory / stem)
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(
        f"{directory}: missing {stem}: looked for {candidates[0].name} and {candidates[1].name}"
    )


def load_mnist(
    data_dir: Optional[PathLike] = None,
    *,
    kind: str = "mnist",
    download: bool = False,
    data_home: Optional[PathLike] = None,
    mirrors: Optional[list[str]] = None,
) -> Dataset:
    """Load MNIST or Fashion-MNIST from the four standard IDX files, downloading them on request.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped (``.gz``,
        preferred when both exist) or raw. Default: see :func:`resolve_data_dir`.
    kind : {"mnist", "fashion-mnist"}
        Which data set; selects the environment variable and default directory, and the name.
    download : bool
        Fetch the files that are missing from the data set's public mirrors, each checked
        against the published content digest before it is kept (see
        :func:`~analog_eqprop.data.remote.fetch_dataset`): into ``data_dir`` (or the
        environment variable's directory) when one is named, else into the data home. Files
        already present are used as they are.
    data_home : str or os.PathLike, optional
        The data home (default ``$ANALOG_EQPROP_DATA_HOME``, else the user cache directory).
    mirrors : list of str, optional
        Base URLs or local directories to download from instead of the public mirrors.

    Returns
    -------
    Dataset
        Images flattened to ``(N, H*W)`` (784 for the published sets) and scaled from ``uint8``
        to [0, 1] by dividing by 255; 10 classes; 60,000 train and 10,000 test examples for the
        published files, no validation split (use :meth:`Dataset.split_validation`).

    Raises
    ------
    DataError
        If the directory or a file is missing or corrupt, image and label counts differ, the
        images are not ``uint8`` of shape ``(N, H, W)``, or train and test image sizes differ;
        with ``download``, if no mirror gives a good copy of a file (the message lists the
        URLs tried and what went wrong).

    Examples
    --------
    A tiny stand-in directory (the real files are read the same way):

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from analog_eqprop.data.idx import write_idx
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = pathlib.Path(tmp)
    ...     write_idx(d / "train-images-idx3-ubyte.gz", np.full((3, 2, 2), 255, np.uint8))
    ...     write_idx(d / "train-labels-idx1-ubyte.gz", np.array([0, 9, 4], np.uint8))
    ...     write_idx(d / "t10k-images-idx3-ubyte", np.zeros((1, 2, 2), np.uint8))
    ...     write_idx(d / "t10k-labels-idx1-ubyte", np.array([7], np.uint8))
    ...     ds = load_mnist(d)
    >>> ds.x_train.shape, float(ds.x_train.max()), ds.y_test
    ((3, 4), 1.0, array([7]))
    """
    if kind not in _ENV_VARS:
        raise DataError(f"unknown IDX data set kind {kind!r}, expected one of {sorted(_ENV_VARS)}")
    if download:
        directory = _download_dir(kind, data_dir, data_home, mirrors)
    else:
        directory = resolve_data_dir(kind, data_dir, data_home=data_home)
    paths = {field: _find_idx(directory, stem) for field, stem in _MNIST_STEMS.items()}
    arrays = {field: read_idx(path) for field, path in paths.items()}
    image_shape = None
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        x_path, y_path = paths[f"x_{split}"], paths[f"y_{split}"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(
                f"{x_path}: expected uint8 images of shape (N, rows, cols), "
                f"got {images.dtype} of shape {images.shape}"
            )
        if labels.ndim != 1:
            raise DataError(f"{y_path}: expected a 1-D label vector, got shape {labels.shape}")
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{x_path.name} has {images.shape[0]} images but {y_path.name} has "
                f"{labels.shape[0]} labels; expected one label per image (in {directory})"
            )
        if image_shape is None:
            image_shape = images.shape[1:]
        elif images.shape[1:] != image_shape:
            raise DataError(
                f"{x_path.name} has {images.shape[1]}x{images.shape[2]} images but the training "
                f"images are {image_shape[0]}x{image_shape[1]}; expected the same size (in {directory})"
            )
        # Dividing a uint8 array by a float gives float64 directly, with no intermediate copy.
        arrays[f"x_{split}"] = images.reshape(images.shape[0], -1) / 255.0
    return Dataset(name=kind, n_classes=10, **arrays)


def load_fashion_mnist(
    data_dir: Optional[PathLike] = None,
    *,
    download: bool = False,
    data_home: Optional[PathLike] = None,
    mirrors: Optional[list[str]] = None,
) -> Dataset:
    """Load Fashion-MNIST (Zalando): ``load_mnist(..., kind="fashion-mnist")``.

    Looked for in ``data_dir``, ``$ANALOG_EQPROP_FASHION_MNIST_DIR``, the data home and
    Debian's ``/usr/share/datasets/fashion-mnist``; ``download=True`` fetches it. The
    parameters are those of :func:`load_mnist`.
    """
    return load_mnist(data_dir, kind="fashion-mnist", download=download, data_home=data_home, mirrors=mirrors)


def _stratified_split(
    x: np.ndarray, y: np.ndarray, n_test: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic stratified train/test split (``random_state=0``)."""
    # Imported here: scikit-learn takes ~0.5 s to import and only these two loaders need it.
    from sklearn.model_selection import train_test_split

    # Fixed seed and stratification: every machine gets the same split with all classes in proportion.
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=n_test, random_state=0, stratify=y)
    return x_train, x_test, y_train, y_test


def load_digits() -> Dataset:
    """Load scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download).

    Pixels (0 to 16) are divided by 16 to lie in [0, 1]. The split is stratified and fixed:
    ``sklearn.model_selection.train_test_split(test_size=360, random_state=0, stratify=y)``,
    giving 1,437 training and 360 test examples of 64 features, 10 classes.

    Examples
    --------
    >>> ds = load_digits()
    >>> ds.x_train.shape, ds.x_test.shape, ds.n_classes
    ((1437, 64), (360, 64), 10)
    >>> float(ds.x_train.min()), float(ds.x_train.max())
    (0.0, 1.0)
    """
    from sklearn.datasets import load_digits as sk_load_digits  # lazy: see _stratified_split

    bunch = sk_load_digits()
    x_train, x_test, y_train, y_test = _stratified_split(bunch.data / 16.0, bunch.target, 360)
    return Dataset("digits", x_train, y_train, x_test, y_test, n_classes=10)


def load_iris() -> Dataset:
    """Load scikit-learn's bundled Iris data (150 flowers, 4 features, 3 classes, no download).

    Stratified fixed split of 120 training and 30 test examples
    (``train_test_split(test_size=30, random_state=0, stratify=y)``). Each feature is min-max
    scaled with the *training* split's minimum and maximum, so no test statistics leak into
    training; test values outside the training range are clipped to [0, 1], since an input
    source cannot be driven beyond its range.

    Examples
    --------
    >>> ds = load_iris()
    >>> ds.x_train.shape, ds.x_test.shape, ds.n_classes
    ((120, 4), (30, 4), 3)
    >>> bool(ds.x_test.min() >= 0.0 and ds.x_test.max() <= 1.0)
    True
    """
    from sklearn.datasets import load_iris as sk_load_iris  # lazy: see _stratified_split

    bunch = sk_load_iris()
    x_train, x_test, y_train, y_test = _stratified_split(bunch.data, bunch.target, 30)
    low = x_train.min(axis=0)
    span = x_train.max(axis=0) - low
    # A constant feature would divide by zero; it carries no information, so map it to 0.
    span = np.where(span > 0, span, 1.0)
    x_train = (x_train - low) / span
    x_test = np.clip((x_test - low) / span, 0.0, 1.0)
    return Dataset("iris", x_train, y_train, x_test, y_test, n_classes=3)


def load_xor() -> Dataset:
    """Return the four XOR patterns, used as both training and test set (2 features, 2 classes).

    Examples
    --------
    >>> ds = load_xor()
    >>> ds.x_train.tolist(), ds.y_train.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    # Separate copies: a caller editing the training arrays in place must not change the test set.
    return Dataset("xor", x, y, x.copy(), y.copy(), n_classes=2)


def load_dataset(name: str, data_dir: Optional[PathLike] = None, *, download: bool = False) -> Dataset:
    """Load a data set by name, one of :data:`DATASETS`.

    Parameters
    ----------
    name : str
        ``"digits"``, ``"mnist"``, ``"fashion-mnist"``, ``"iris"`` or ``"xor"``; case and
        ``_`` for ``-`` do not matter.
    data_dir : str or os.PathLike, optional
        Directory of the IDX files; only meaningful for ``"mnist"`` and ``"fashion-mnist"``.
    download : bool
        For ``"mnist"`` and ``"fashion-mnist"``: fetch missing files (see :func:`load_mnist`);
        the built-in sets need no download and ignore it.

    Raises
    ------
    DataError
        If the name is unknown (the message lists the valid names), ``data_dir`` is given for a
        data set that has no files, or loading fails.

    Examples
    --------
    >>> load_dataset("XOR").name
    'xor'
    >>> load_dataset("cifar")
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.DataError: unknown data set 'cifar', expected one of: digits, mnist, fashion-mnist, iris, xor
    """
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise DataError(f"unknown data set {name!r}, expected one of: {', '.join(DATASETS)}")
    if key in _ENV_VARS:
        return load_mnist(data_dir, kind=key, download=download)
    if data_dir is not None:
        raise DataError(
            f"data_dir={str(data_dir)!r} given for {key!r}, which is built in and reads no files; "
            "data_dir applies to mnist and fashion-mnist only"
        )
    return {"digits": load_digits, "iris": load_iris, "xor": load_xor}[key]()


def one_hot(labels: np.ndarray, n_classes: int, dtype: type | np.dtype = float) -> np.ndarray:
    """Return one-hot targets of shape ``labels.shape + (n_classes,)``.

    Raises
    ------
    ConfigError
        If ``n_classes`` is below 1.
    DataError
        If a label is not an integer in ``[0, n_classes)``.

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    if int(n_classes) < 1:
        raise ConfigError(f"n_classes must be at least 1, got {n_classes}")
    labels = np.asarray(labels)
    if labels.size and labels.dtype.kind not in "iu":
        raise DataError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"one_hot: labels in [{labels.min()}, {labels.max()}], expected [0, {int(n_classes) - 1}]"
        )
    return np.eye(int(n_classes), dtype=dtype)[labels.astype(np.intp, copy=False)]


def iterate_minibatches(
    n: int,
    batch_size: int,
    rng: Optional[np.random.Generator] = None,
    *,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[np.ndarray]:
    """Return an iterator of index arrays that cover ``range(n)`` once, in batches of ``batch_size``.

    Parameters
    ----------
    n : int
        Number of examples.
    batch_size : int
        Examples per batch (at least 1); the last batch is smaller unless ``drop_last``.
    rng : numpy.random.Generator or int, optional
        Source of the permutation when ``shuffle``; an int seeds a new generator, ``None``
        takes fresh entropy (not reproducible).
    shuffle : bool
        Permute the indices; otherwise batches are consecutive ranges.
    drop_last : bool
        Skip a final batch smaller than ``batch_size`` (so every step sees the same batch shape).

    Returns
    -------
    iterator of numpy.ndarray
        ``int64`` index arrays into the data set's arrays, one per batch.

    Raises
    ------
    ConfigError
        If ``batch_size`` is below 1 or ``n`` is negative.

    Examples
    --------
    >>> [b.tolist() for b in iterate_minibatches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> sorted(np.concatenate(list(iterate_minibatches(5, 2, rng=0))).tolist())
    [0, 1, 2, 3, 4]
    """
    try:
        # operator.index accepts Python and NumPy integers but refuses 2.5, "4" and None.
        n_int, size = operator.index(n), operator.index(batch_size)
    except TypeError:
        raise ConfigError(f"n and batch_size must be integers, got {n!r} and {batch_size!r}") from None
    if isinstance(batch_size, bool) or size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if n_int < 0:
        raise ConfigError(f"n must be a non-negative integer, got {n!r}")
    if shuffle:
        order = np.random.default_rng(rng).permutation(n_int).astype(np.int64, copy=False)
    else:
        order = np.arange(n_int, dtype=np.int64)
    stop = n_int - n_int % size if drop_last else n_int
    # Checked above, outside the generator, so a bad argument fails at the call, not at the first batch.
    return (order[start : start + size] for start in range(0, stop, size))
