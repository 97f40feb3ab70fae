"""The checks every public entry point makes on what it is given, in one place.

Each function returns the value cleaned (a float, an int, an array) or raises the toolkit's
error for that precondition with a message that names the thing. Which error is raised is
decided by *what* is wrong, never by which layer or backend notices it (the table is also in
:mod:`analog_eqprop.errors`):

==================  =========================================================================
error               precondition
==================  =========================================================================
``GraphError``      the network: a node or edge attribute of a graph (weight, bias, rail
                    ``voltage``, ``gain``, ``layer``, ...) is missing, not a number, not
                    finite or out of range; a field of a :class:`~analog_eqprop.circuits.Circuit`
                    (or a builder argument that becomes one); two labels that collide
``DataError``       an array handed to a call: features ``x``, targets, labels, conductances
                    ``g``, states, reference states, currents: wrong shape (never trimmed or
                    padded), a non-finite entry, or missing where the call needs it (a nudged
                    phase without its target, current-mode nudging without the free state)
``ConfigError``     a setting: a config field, a backend or solver option, a scalar parameter
                    of a call (``beta``, a step size, a learning rate, a tolerance): not a
                    number, not finite, or out of range
``NetlistError``    SPICE text (a deck that is read, or written)
==================  =========================================================================

Examples
--------
>>> real(0.5, "beta")
0.5
>>> real(float("nan"), "beta")
Traceback (most recent call last):
...
analog_eqprop.errors.ConfigError: beta must be a finite number, got nan
>>> array([[0.0, 1.0]], "x", (None, 3))
Traceback (most recent call last):
...
analog_eqprop.errors.DataError: x must have shape (batch, 3), got (1, 2)
>>> graph_number("node 'h1'", "gain", "big")
Traceback (most recent call last):
...
analog_eqprop.errors.GraphError: node 'h1': attribute 'gain' must be a number, got 'big' (str)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

from analog_eqprop.errors import ConfigError, DataError, GraphError

__all__ = [
    "short",
    "is_real",
    "real",
    "integer",
    "array",
    "batch",
    "graph_number",
    "finite_fields",
    "labels",
    "nudge_target",
    "solve_args",
]


def short(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (a bad value may be a 400-digit int);
    NumPy scalars read as plain numbers (``nan``, not ``np.float64(nan)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_real(value: Any) -> bool:
    """A real number: int, float or their NumPy kinds, but not a bool (``True`` is not 1 V)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _as_float(value: Any) -> float | None:
    """The float of a real number or a 0-d real array; ``None`` if it is not one."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if not is_real(value):
        return None
    try:
        return float(value)
    except OverflowError:  # an int too large for a double
        return math.inf if value > 0 else -math.inf


def _bounds_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def real(value: Any, name: str, *, error: type[Exception] = ConfigError, low: float | None = None,
         high: float | None = None, low_open: bool = False, high_open: bool = False, unit: str = "") -> float:
    """``value`` as a finite float within the bounds, or ``error`` naming ``name``.

    Parameters
    ----------
    value : object
        A real number (int, float, NumPy scalar or 0-d array); a bool or text is refused.
    name : str
        What it is, as the message should say it (``"beta"``, ``"TrainConfig.momentum"``).
    error : exception class
        The toolkit error of this precondition (default :class:`ConfigError`).
    low, high : float, optional
        Bounds; ``low_open`` / ``high_open`` make them strict.
    unit : str
        Appended to the value in messages (``"V"``, ``"S"``).

    Examples
    --------
    >>> real(2, "eps", low=0, low_open=True)
    2.0
    >>> real(0.0, "eps", low=0, low_open=True)
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.ConfigError: eps must be a finite number > 0, got 0.0
    """
    x = _as_float(value)
    bounds = _bounds_text(low, high, low_open, high_open)
    want = "a finite number" + (f" {bounds}" if bounds else "")
    got = short(value) + (f" {unit}" if unit else "")
    if x is None:
        raise error(f"{name} must be {want}, got {got} ({type(value).__name__})")
    bad = not math.isfinite(x)
    if low is not None:
        bad |= x <= low if low_open else x < low
    if high is not None:
        bad |= x >= high if high_open else x > high
    if bad:
        raise error(f"{name} must be {want}, got {got}")
    return x


def integer(value: Any, name: str, *, error: type[Exception] = ConfigError, low: int | None = None) -> int:
    """``value`` as an int (an integral float such as ``3.0`` counts), at least ``low``.

    ``1.5`` is refused rather than truncated, and so are bools, text, NaN and infinities.

    Examples
    --------
    >>> integer(3.0, "feature"), integer(np.int64(2), "layer")
    (3, 2)
    >>> integer(1.5, "feature", error=GraphError)
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.GraphError: feature must be an integer, got 1.5
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    ok = is_real(value) and (isinstance(value, numbers.Integral) or (math.isfinite(value) and float(value).is_integer()))
    if not ok:
        kind = "" if is_real(value) else f" ({type(value).__name__})"
        raise error(f"{name} must be an integer, got {short(value)}{kind}")
    out = int(value)
    if low is not None and out < low:
        raise error(f"{name} must be an integer >= {low}, got {out}")
    return out


_integer = integer  # graph_number's keyword ``integer`` shadows the function


def _index_text(arr: np.ndarray, flat: int) -> str:
    idx = np.unravel_index(flat, arr.shape)
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _shape_text(shape: tuple) -> str:
    dims = ["batch" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def array(value: Any, name: str, shape: tuple[int | None, ...], *, error: type[Exception] = DataError,
          dtype: Any = np.float64, finite: bool = True, positive: bool = False) -> np.ndarray:
    """``value`` as an array of exactly ``shape`` (``None``: any length), finite, or ``error``.

    A wrong shape is refused, never trimmed, padded or broadcast. ``dtype=None`` keeps a
    floating dtype as given (float32 stays float32) and converts anything else to float64.
    The first non-finite (or, with ``positive``, non-positive) entry is named by its index.

    Examples
    --------
    >>> array([1.0, 2.0], "g", (2,), positive=True)
    array([1., 2.])
    >>> array([1.0, -2.0], "g", (2,), positive=True)
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.DataError: g[1] is -2.0; g must be finite and > 0
    """
    try:
        if dtype is None:
            arr = np.asarray(value)
            if arr.dtype.kind != "f":
                arr = arr.astype(np.float64)
        else:
            arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} must be an array of numbers of shape {_shape_text(shape)}: {exc}") from None
    if arr.ndim != len(shape) or any(d is not None and d != n for d, n in zip(shape, arr.shape)):
        raise error(f"{name} must have shape {_shape_text(shape)}, got {np.shape(value)}")
    if finite and arr.size:
        # min/max propagate NaN and see infinities without a boolean temporary of the array's size
        lo, hi = arr.min(), arr.max()
        ok = math.isfinite(lo) and math.isfinite(hi) and (not positive or lo > 0)
        if not ok:
            bad = ~np.isfinite(arr)
            if positive:
                bad |= arr <= 0
            k = int(np.argmax(bad))
            need = "finite and > 0" if positive else "finite (no NaN or inf)"
            raise error(f"{name}{_index_text(arr, k)} is {arr.flat[k].item()!r}; {name} must be {need}")
    return arr


def batch(value: Any, name: str, n_cols: int, *, rows: int | None = None, error: type[Exception] = DataError,
          dtype: Any = np.float64, promote: bool = True) -> np.ndarray:
    """A ``(batch, n_cols)`` array (``rows`` fixes the batch); with ``promote`` a single
    example ``(n_cols,)`` becomes ``(1, n_cols)``. Finite entries only."""
    if promote and np.ndim(value) == 1 and np.shape(value)[0] == n_cols:
        value = np.asarray(value)[None, :]
    return array(value, name, (rows, n_cols), error=error, dtype=dtype)


def graph_number(where: str, attr: str, value: Any, *, integer: bool = False, low: float | None = None,
                 low_open: bool = False, allow_none: bool = False) -> Any:
    """A graph attribute's number, or :class:`GraphError` naming the node or edge and attribute.

    ``where`` is ``"node 'h1'"`` or ``"edge ('a', 'b')"``. ``integer`` refuses ``1.5``
    (rather than reading it as 1); ``allow_none`` passes ``None`` through (e.g. a
    ``clamp_low`` of ``None``: no diode on that side).
    """
    if value is None and allow_none:
        return None
    label = f"{where}: attribute {attr!r}"
    if not is_real(value) and not (isinstance(value, np.ndarray) and value.ndim == 0):
        kind = "an integer" if integer else "a number"
        raise GraphError(f"{label} must be {kind}, got {short(value)} ({type(value).__name__})")
    if integer:
        return _integer(value, label, error=GraphError, low=None if low is None else int(low) + bool(low_open))
    return real(value, label, error=GraphError, low=low, low_open=low_open)


def finite_fields(obj: Any) -> None:
    """Refuse a config dataclass whose float fields (or float entries of tuple fields) are
    NaN or infinite: :class:`ConfigError` naming ``Class.field``. Call it from ``__post_init__``."""
    owner = type(obj).__name__
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        values = enumerate(v) if isinstance(v, tuple) else [(None, v)]
        for i, item in values:
            if isinstance(item, (float, np.floating)) and not math.isfinite(item):
                where = f"{owner}.{f.name}" + ("" if i is None else f"[{i}]")
                raise ConfigError(f"{where} must be finite, got {item!r}")


def labels(y: Any, name: str, n_classes: int, *, rows: int | None = None) -> np.ndarray:
    """Class labels: a 1-D array of integers in ``[0, n_classes)`` (``rows`` of them), as int64.

    Examples
    --------
    >>> labels([0, 2, 1], "y", 3)
    array([0, 2, 1])
    >>> labels([0, 1.5], "y", 3)
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.DataError: y[1] is 1.5; labels must be integers in [0, 3)
    """
    arr = np.asarray(y)
    if arr.ndim != 1 or (rows is not None and arr.shape[0] != rows):
        want = f"({rows},)" if rows is not None else "(n,)"
        raise DataError(f"{name} must be a 1-D label vector of shape {want}, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        bad = (arr < 0) | (arr >= n_classes)
    elif arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr < 0) | (arr >= n_classes)
    elif arr.size:
        raise DataError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    else:
        bad = np.zeros(0, bool)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(f"{name}[{k}] is {arr[k].item()!r}; labels must be integers in [0, {n_classes})")
    return arr.astype(np.int64)


def nudge_target(beta: Any, target: Any, name: str, n_outputs: int, rows: int, *,
                 per_example: bool = False) -> tuple[Any, np.ndarray | None]:
    """The nudge strength and its target: ``beta`` a finite number (or, with ``per_example``,
    one per example), and a target ``(rows, n_outputs)`` whenever some beta is nonzero.

    Returns ``(beta, target)``; the target is ``None`` for a free phase (given or not).
    """
    if per_example and np.ndim(beta):
        beta = array(beta, "beta", (rows,), error=ConfigError)
        nudged = bool(np.any(beta))
    else:
        if np.ndim(beta):
            raise ConfigError(f"beta must be a number, got an array of shape {np.shape(beta)} "
                              "(this backend takes one beta per batch)")
        beta = real(beta, "beta")
        nudged = beta != 0.0
    if not nudged:
        return beta, None
    if target is None:
        raise DataError(f"a nudged phase (beta != 0) needs its target: pass {name}, shape ({rows}, {n_outputs})")
    return beta, batch(target, name, n_outputs, rows=rows, promote=False)


def solve_args(circuit: Any, g: Any, x: Any, *, beta: Any = 0.0, target: Any = None, target_name: str = "target_v",
               ref: Any = None, u0: Any = None, n_state: int | None = None, check_g: bool = True,
               per_example_beta: bool = False, g_dtype: Any = np.float64, ref_optional: bool = False):
    """Check the arguments of an operating-point solve of ``circuit``; every backend calls it.

    ``g`` ``(n_edges,)`` finite and > 0 [S] (skipped with ``check_g=False``, for a caller
    that promised the same ``g`` as its last, checked call); ``x`` ``(batch, n_features)``
    (one example ``(n_features,)`` is promoted); ``beta`` finite (per example with
    ``per_example_beta``); the target ``(batch, n_outputs)`` when nudged; ``ref`` (the free
    state, needed for current-mode nudging) and ``u0`` ``(batch, n_free)`` or
    ``(batch, n_state)``; ``ref_optional`` for a caller that gives the nudge currents itself.

    Returns ``(g, x, beta, target, ref, u0)`` checked: ``x`` float64 2-D, ``beta`` a float (or
    ``(batch,)`` array), ``target`` ``None`` in a free phase, ``ref`` / ``u0`` arrays or ``None``.
    """
    c = circuit
    if check_g:
        g = array(g, "g", (c.n_edges,), dtype=g_dtype, positive=True)
    x = batch(x, "x", c.n_features)
    B = x.shape[0]
    if B == 0:
        raise DataError(f"x has no examples (shape {x.shape}): an operating point needs at least one")
    beta, target = nudge_target(beta, target, target_name, c.n_outputs, B, per_example=per_example_beta)
    widths = sorted({c.n_free} | ({n_state} if n_state else set()))

    def state(value, what):
        if value is None:
            return None
        shape = np.shape(value)
        if len(shape) != 2 or shape[0] != B or shape[1] not in widths:
            raise DataError(f"{what} must have shape ({B}, {' or '.join(map(str, widths))}), got {shape}")
        return array(value, what, shape, dtype=None)

    ref = state(ref, "ref")
    if target is not None and ref is None and c.nudge == "current" and not ref_optional:
        raise DataError("current-mode nudging needs the free state as reference: pass ref, "
                        f"shape ({B}, {c.n_free})")
    return g, x, beta, target, ref, state(u0, "u0")
