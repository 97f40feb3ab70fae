"""An array of programmable conductances: what is stored, what is read, how a write lands.

:class:`DeviceArray` holds one circuit instance's devices under a
:class:`~analog_eqprop.hardware.config.DeviceConfig`: the resolved range, the level grid and
the per-device state sampled once from a seed (conductance factors, step-size factors, stuck
devices). Everything else is a pure function of arrays:

* :meth:`DeviceArray.read` -- stored value -> levels -> device-to-device factor -> stuck
  devices -> read noise: the *effective* conductance a solver sees;
* :meth:`DeviceArray.program` -- a requested change -> whole pulses (stochastic or nearest
  rounding to level steps) -> asymmetric, soft-bounded step sizes times the device's step
  factor -> write noise (``sqrt(pulses)`` times the per-pulse figure) -> clip to the range ->
  back onto the level grid. Stuck devices never change.

Soft bounds with strength ``s`` scale an up step by ``1 - s (2 x - 1)`` and a down step by
``1 + s (2 x - 1)``, ``x = (g - g_min) / (g_max - g_min)``: ``s = 1`` is the classic soft
bound (up steps proportional to ``g_max - g``, down steps to ``g - g_min``, equal at
mid-range), ``s = 0`` constant steps (aihwkit's ``LinearStepDevice`` with ``gamma = s``).

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.hardware.config import DeviceConfig
>>> dev = DeviceArray(DeviceConfig(g_min=1e-6, g_max=1e-5, n_levels=10, rounding="nearest"), 3, seed=0)
>>> g = dev.quantize(np.array([1.2e-6, 5.4e-6, 9.9e-6]))
>>> np.round(g * 1e6, 6).tolist()
[1.0, 5.0, 10.0]
>>> np.round(dev.program(g, np.array([1e-6, 2.1e-6, 1e-6]), np.random.default_rng(0)) * 1e6, 6).tolist()
[2.0, 7.0, 10.0]
"""

from __future__ import annotations

import numpy as np

from analog_eqprop.errors import ConfigError
from analog_eqprop.hardware.config import DeviceConfig

__all__ = ["DeviceArray", "STUCK_NONE", "STUCK_MIN", "STUCK_MAX"]

STUCK_NONE, STUCK_MIN, STUCK_MAX = 0, -1, 1
_FLOOR = 1e-3  # a read never falls below this fraction of g_min (a resistor needs g > 0)
_MIN_FACTOR = 0.1  # device factors are clipped here: a Gaussian tail must not make a device vanish


class DeviceArray:
    """``n`` devices of one kind, with their sampled device-to-device state.

    Parameters
    ----------
    config : DeviceConfig
    n : int
        Number of devices (conductances).
    g_min, g_max : float, optional
        The range [S] when the config leaves it to the circuit (``None`` fields).
    seed : int or numpy.random.SeedSequence
        Seed of the device-to-device sample. The three draws (conductance factors, step
        factors, stuck uniform numbers) are always made, in that order, whatever the config
        switches on: the same seed gives the same devices under every preset.
    """

    def __init__(self, config: DeviceConfig, n: int, *, g_min: float | None = None, g_max: float | None = None,
                 seed: int | np.random.SeedSequence | None = 0):
        self.config = config
        lo = config.g_min if config.g_min is not None else g_min
        hi = config.g_max if config.g_max is not None else g_max
        if lo is None or hi is None or not 0 < lo < hi:
            raise ConfigError(f"device range needs 0 < g_min < g_max, got {lo!r}, {hi!r} S")
        self.g_min, self.g_max, self.n = float(lo), float(hi), int(n)
        self.step = (self.g_max - self.g_min) / (config.n_levels - 1) if config.n_levels else None
        rng = np.random.default_rng(seed)
        z_scale, z_step, u = rng.standard_normal(n), rng.standard_normal(n), rng.random(n)
        self.scale = np.maximum(1.0 + config.d2d_variation * z_scale, _MIN_FACTOR)
        self.step_scale = np.maximum(1.0 + config.step_d2d * z_step, _MIN_FACTOR)
        self.stuck = np.full(n, STUCK_NONE, np.int8)
        self.stuck[u < config.stuck_min] = STUCK_MIN
        self.stuck[(u >= config.stuck_min) & (u < config.stuck_min + config.stuck_max)] = STUCK_MAX
        for a in (self.scale, self.step_scale, self.stuck):
            a.setflags(write=False)

    @property
    def span(self) -> float:
        """``g_max - g_min`` [S]."""
        return self.g_max - self.g_min

    @property
    def stuck_value(self) -> np.ndarray:
        """The stored value of each stuck device [S] (NaN for the others)."""
        return np.where(self.stuck == STUCK_MIN, self.g_min, np.where(self.stuck == STUCK_MAX, self.g_max, np.nan))

    def levels(self) -> np.ndarray | None:
        """The level grid [S] (``None`` for a continuous device)."""
        if self.step is None:
            return None
        return self.g_min + self.step * np.arange(self.config.n_levels)

    # -- the level grid ---------------------------------------------------------------------
    def _round(self, v: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        if rng is None or self.config.rounding == "nearest":
            return np.rint(v)
        lo = np.floor(v)
        return lo + (rng.random(v.shape) < (v - lo))

    def quantize(self, g: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """``g`` clipped to the range and put on the level grid (nearest level without
        ``rng``, stochastic rounding with it); unchanged for a continuous device."""
        g = np.clip(np.asarray(g, dtype=np.float64), self.g_min, self.g_max)
        if self.step is None:
            return g
        k = np.clip(self._round((g - self.g_min) / self.step, rng), 0, self.config.n_levels - 1)
        return self.g_min + self.step * k

    def initial(self, g: np.ndarray) -> np.ndarray:
        """The first programmed state [S] from a circuit's initial conductances ``g``: mapped
        onto ``[init_low, init_high]`` of the range (if the config says so) keeping their
        order and spread, put on the grid; stuck devices at their stuck value."""
        g = np.asarray(g, dtype=np.float64)
        cfg = self.config
        if cfg.init_low is not None and g.size:
            lo, hi = float(g.min()), float(g.max())
            u = (g - lo) / (hi - lo) if hi > lo else np.full_like(g, 0.5)
            g = self.g_min + self.span * (cfg.init_low + (cfg.init_high - cfg.init_low) * u)
        return self.stick(self.quantize(g))

    def stick(self, g: np.ndarray) -> np.ndarray:
        """``g`` [S] with every stuck device at its stuck value (the others as given)."""
        if np.any(self.stuck):
            g = np.where(self.stuck != STUCK_NONE, self.stuck_value, g)
        return g

    # -- read -------------------------------------------------------------------------------
    def read(self, g: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """The effective conductances [S] a solve sees for stored values ``g``.

        Levels (nearest), then the device factor, then stuck devices (exactly their bound),
        then read noise (a fresh relative error from ``rng``; none without ``rng`` or when the
        config has none).
        """
        out = self.quantize(g) * self.scale
        out = np.where(self.stuck == STUCK_MIN, self.g_min, np.where(self.stuck == STUCK_MAX, self.g_max, out))
        if rng is not None and self.config.read_noise:
            out = out * (1.0 + self.config.read_noise * rng.standard_normal(out.shape))
        return np.maximum(out, _FLOOR * self.g_min)

    # -- write ------------------------------------------------------------------------------
    def step_factors(self, g: np.ndarray, up: np.ndarray) -> np.ndarray:
        """Size of a step (up where ``up``, else down) relative to the requested one: the
        asymmetry, the soft bounds at the stored value ``g`` and each device's step factor."""
        cfg = self.config
        x2 = 2.0 * (np.asarray(g) - self.g_min) / self.span - 1.0  # -1 at g_min, +1 at g_max
        f_up = (1.0 + cfg.asymmetry) * np.maximum(1.0 - cfg.soft_bounds_up * x2, 0.0)
        f_dn = (1.0 - cfg.asymmetry) * np.maximum(1.0 + cfg.soft_bounds_down * x2, 0.0)
        return np.where(up, f_up, f_dn) * self.step_scale

    def program(self, g: np.ndarray, request: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The new stored values [S] after asking devices at ``g`` to change by ``request`` [S].

        The request becomes a signed number of pulses (whole level steps, rounded as the
        config says; a continuous device takes it as one analog event), each pulse moves the
        device by the nominal step times :meth:`step_factors`, and write noise adds
        ``write_noise * span * sqrt(pulses)`` (Gaussian). Devices that get no pulse do not
        change (and get no noise); stuck devices never change.
        """
        cfg = self.config
        g = np.asarray(g, dtype=np.float64)
        request = np.asarray(request, dtype=np.float64)
        if self.step is None:
            nominal = request
            pulses = (request != 0).astype(np.float64)
        else:
            k = self._round(request / self.step, rng)
            nominal = k * self.step
            pulses = np.abs(k)
        moved = pulses > 0
        change = nominal * self.step_factors(g, nominal > 0)
        if cfg.write_noise:
            change = change + np.where(moved, cfg.write_noise * self.span * np.sqrt(pulses), 0.0) \
                * rng.standard_normal(g.shape)
        new = np.where(moved, g + change, g)
        new = np.where(moved, self.quantize(new, rng), g)
        return self.stick(new)

    def on_grid(self, g: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Whether each value lies on the level grid (always True for a continuous device)."""
        g = np.asarray(g, dtype=np.float64)
        if self.step is None:
            return (g >= self.g_min) & (g <= self.g_max)
        k = (g - self.g_min) / self.step
        return (np.abs(k - np.rint(k)) <= tol) & (k > -tol) & (k < self.config.n_levels - 1 + tol)
