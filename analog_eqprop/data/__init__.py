"""Data sets for training: IDX files (MNIST, Fashion-MNIST), scikit-learn digits and Iris, XOR.

Every loader returns a :class:`Dataset` of ``float64`` features in [0, 1] and ``int64`` labels.
MNIST and Fashion-MNIST download on request (``load_mnist(download=True)``, :func:`fetch_dataset`,
``analog-eqprop data fetch mnist``), checked against the published content digests and cached
under :func:`data_home`. :func:`iterate_minibatches` and :func:`one_hot` feed the training loop.

Examples
--------
>>> from analog_eqprop.data import load_dataset, iterate_minibatches, one_hot
>>> ds = load_dataset("xor")
>>> batch = next(iterate_minibatches(ds.n_train, 2, shuffle=False))
>>> one_hot(ds.y_train[batch], ds.n_classes)
array([[1., 0.],
       [0., 1.]])
"""

from __future__ import annotations

from analog_eqprop.data.datasets import (
    DATASETS,
    FASHION_MNIST_DEBIAN_DIR,
    FASHION_MNIST_ENV_VAR,
    MNIST_ENV_VAR,
    Dataset,
    iterate_minibatches,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_iris,
    load_mnist,
    load_xor,
    one_hot,
    resolve_data_dir,
)
from analog_eqprop.data.idx import IDX_DTYPES, MAX_IDX_DIMS, read_idx, write_idx
from analog_eqprop.data.remote import (
    DATA_HOME_ENV_VAR,
    REMOTE_DATASETS,
    FetchReport,
    cache_status,
    data_home,
    fetch_dataset,
    verify_file,
)

__all__ = [
    "DATASETS",
    "DATA_HOME_ENV_VAR",
    "FASHION_MNIST_DEBIAN_DIR",
    "FASHION_MNIST_ENV_VAR",
    "IDX_DTYPES",
    "MAX_IDX_DIMS",
    "MNIST_ENV_VAR",
    "Dataset",
    "FetchReport",
    "REMOTE_DATASETS",
    "cache_status",
    "data_home",
    "fetch_dataset",
    "iterate_minibatches",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_iris",
    "load_mnist",
    "load_xor",
    "one_hot",
    "read_idx",
    "resolve_data_dir",
    "verify_file",
    "write_idx",
]
