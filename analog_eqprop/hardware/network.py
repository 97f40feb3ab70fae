"""A resistive EqProp network made of physical devices: the same model interface, real hardware.

:class:`HardwareNetwork` wraps a :class:`~analog_eqprop.models.ResistiveNetwork` that
simulates the *physical* circuit (the logical circuit after the hardware transforms: device
range, diode card, amplifier model, line resistances), and adds what belongs to one circuit
*instance*, sampled once from a seed: each device's conductance factor, step factor and
fault, each amplifier's gain error. Its parameters ``g0, g1, ...`` are the devices' stored
(programmed) conductances, one array per layer as for a ``ResistiveNetwork``.

* **Every solve** (:meth:`HardwareNetwork.relax`) turns the stored values into the effective
  conductance vector -- levels, device factors, stuck devices, a fresh read-noise sample
  (:meth:`~analog_eqprop.hardware.device.DeviceArray.read`), then the fixed wire
  conductances -- and hands it to the backend. NumPy and ngspice get the same vector and the
  same physical circuit, so they see the same devices.
* **Every update** goes through the devices: the optimiser writes ``params -= lr * d`` as
  usual, then the trainer's :meth:`HardwareNetwork.project` treats ``params - stored`` as the
  requested change and programs it (pulses, asymmetric soft-bounded steps, write noise, level
  grid, stuck devices; :meth:`~analog_eqprop.hardware.device.DeviceArray.program`).
* The EqProp gradient of a device is ``1/2 dV^2`` across it (between its line nodes when the
  wires have resistance): the quantity a local update circuit can measure. Wires never train.

Parameters set from outside (a checkpoint, :meth:`set_conductances`) are taken as
written-and-verified: put on the level grid, stuck devices left alone.

Random streams (all from ``seed``): device sample, amplifier sample, write noise and pulse
rounding, read noise. The write and read streams' states travel in the trainer's checkpoints
(:meth:`HardwareNetwork.checkpoint_state`), so a resumed run draws the same noise as an
uninterrupted one.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import layered_circuit
>>> net = HardwareNetwork(layered_circuit([2, 4, 2], seed=0), "rram", seed=1)
>>> s0 = net.relax(np.array([[0.1, 0.9]]), net.init_state(1)).state
>>> net.output(s0).shape, sorted(net.params), bool(net.devices.on_grid(net.g).all())
((1, 2), ['g0', 'g1'], True)
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.hardware.config import HardwareConfig, load_hardware
from analog_eqprop.hardware.device import DeviceArray
from analog_eqprop.hardware.power import PowerBreakdown, power_breakdown
from analog_eqprop.hardware.transforms import (
    node_capacitances,
    with_hardware,
    with_lines,
    with_range,
)
from analog_eqprop.models.resistive import ResistiveNetwork

__all__ = ["HardwareNetwork", "wrap_model"]


class HardwareNetwork:
    """A circuit built of devices under a hardware model (see the module docstring).

    Parameters
    ----------
    circuit : Circuit
        The logical circuit (its ``edge_g`` are the initial conductances).
    hardware : str, path or HardwareConfig
        A preset name (``ideal``, ``rram``, ``pcm``, ``ecram``), a TOML/JSON file or a config.
    backend : str or backend object
        ``"numpy"`` or ``"ngspice"`` (``"bcd"`` only without wire resistance).
    g : ndarray, optional
        Initial conductances [S] instead of ``circuit.edge_g``.
    seed : int
        Seed of this instance's devices and noise.
    overrides : list of "key=value" or mapping, optional
        Field-by-field changes to the hardware config.
    **backend_options
        Passed to the backend.
    """

    def __init__(self, circuit: Circuit, hardware: str | HardwareConfig | Any = "ideal", backend: Any = "numpy",
                 g: np.ndarray | None = None, *, seed: int = 0,
                 overrides: Iterable[str] | Mapping[str, Any] | None = None, **backend_options):
        if getattr(circuit, "tied", False):
            raise ConfigError("hardware models need one device per conductance; this circuit ties or fixes "
                              "conductances (edge_param)")
        trained = [t.noun for t in circuit.tables(nonempty=True)
                   if t.kind != "conductance" and t.trainable and np.any(t.layer >= 0)]
        if trained:
            raise ConfigError(f"hardware models cover conductance devices; this circuit also trains {trained[0]} "
                              "parameters (transistor gates, device parameters), which they do not model")
        cfg = load_hardware(hardware, overrides)
        self.hardware = cfg
        self.seed = int(seed)
        s_dev, s_amp, s_write, s_read = np.random.SeedSequence(self.seed).spawn(4)
        self.devices = DeviceArray(cfg.device, circuit.n_edges, g_min=circuit.g_min, g_max=circuit.g_max,
                                   seed=s_dev)
        logical = with_range(circuit, self.devices.g_min, self.devices.g_max)
        logical = with_hardware(logical, cfg, np.random.default_rng(s_amp))  # every kind: diode cards, amplifiers...
        self.circuit = logical
        self.physical = with_lines(logical, cfg.wire.r_cell)
        if self.physical is not logical and getattr(backend, "name", backend) == "bcd":
            raise ConfigError("the bcd backend needs layered ideal-diode circuits; line resistance adds line "
                              "nodes between the layers: use backend numpy or ngspice (or wire.r_cell=0)")
        self.n_devices = circuit.n_edges
        self._wire_g = np.asarray(self.physical.edge_g[self.n_devices:], dtype=np.float64)
        self._write_rng = np.random.default_rng(s_write)
        self._read_rng = np.random.default_rng(s_read)
        g0 = np.asarray(circuit.edge_g if g is None else g, dtype=np.float64)
        if g0.shape != (circuit.n_edges,):
            raise DataError(f"conductances must have shape ({circuit.n_edges},), got {g0.shape}")
        stored = self.devices.initial(g0)
        self._layer_idx = [np.flatnonzero(circuit.edge_layer == lay) for lay in range(circuit.n_layers)]
        self.params = {f"g{k}": stored[idx].copy() for k, idx in enumerate(self._layer_idx)}
        self._stored = {k: v.copy() for k, v in self.params.items()}
        self.noisy_reads = True
        self._version = 0  # counts programming events; a reused read sample must be of this version
        self._read_version = -1
        self.last_g = self._physical(self.devices.read(stored))
        self.inner = ResistiveNetwork(self.physical, backend, self.last_g, **backend_options)

    # -- conductances ---------------------------------------------------------------------
    def _assemble(self, parts: Mapping[str, np.ndarray]) -> np.ndarray:
        out = np.empty(self.n_devices)
        for k, idx in enumerate(self._layer_idx):
            out[idx] = parts[f"g{k}"]
        return out

    def _physical(self, device_g: np.ndarray) -> np.ndarray:
        return np.concatenate([device_g, self._wire_g])

    @property
    def g(self) -> np.ndarray:
        """The devices' stored conductances [S] in edge order (a copy)."""
        self._sync()
        return self._assemble(self._stored)

    @property
    def element_values(self) -> dict[str, np.ndarray]:
        """Trained columns of kinds other than conductances: none (such circuits are refused)."""
        return {}

    def set_conductances(self, g: np.ndarray) -> None:
        """Program every device to ``g`` [S] by write-and-verify: nearest level, no write
        noise; stuck devices keep their value."""
        g = np.asarray(g, dtype=np.float64)
        if g.shape != (self.n_devices,):
            raise DataError(f"conductances must have shape ({self.n_devices},), got {g.shape}")
        new = self.devices.stick(self.devices.quantize(g))
        self._version += 1
        for k, idx in enumerate(self._layer_idx):
            self.params[f"g{k}"][...] = new[idx]
            self._stored[f"g{k}"] = new[idx].copy()

    def _sync(self) -> None:
        """Parameters written from outside since the last update count as programmed values."""
        for name, stored in self._stored.items():
            p = self.params[name]
            if p.shape != stored.shape:
                raise DataError(f"parameter {name} has shape {p.shape}, expected {stored.shape}")
            if not np.array_equal(p, stored):
                self.set_conductances(self._assemble(self.params))
                return

    def effective_conductances(self, *, noisy: bool = False) -> np.ndarray:
        """The physical circuit's conductance vector [S]: devices as read (with a fresh
        read-noise sample if ``noisy``), then the wires."""
        self._sync()
        rng = self._read_rng if noisy else None
        return self._physical(self.devices.read(self._assemble(self._stored), rng))

    def project(self) -> None:
        """Program the change the optimiser asked for (``params - stored``) into the devices."""
        req = {name: self.params[name] - s for name, s in self._stored.items()}
        if not any(np.any(r != 0) for r in req.values()):
            return
        stored = self._assemble(self._stored)
        new = self.devices.program(stored, self._assemble(req), self._write_rng)
        self._version += 1
        for k, idx in enumerate(self._layer_idx):
            self.params[f"g{k}"][...] = new[idx]
            self._stored[f"g{k}"] = new[idx].copy()

    # -- the model interface -----------------------------------------------------------------
    def param_layer(self, name: str) -> int:
        return int(name[1:])

    @property
    def n_layers(self) -> int:
        return len(self._layer_idx)

    def symmetric_params(self) -> tuple[str, ...]:
        return ()

    def param_masks(self) -> dict[str, np.ndarray]:
        return {}

    @property
    def n_inputs(self) -> int:
        return self.circuit.n_features

    @property
    def n_outputs(self) -> int:
        return self.circuit.n_outputs

    @property
    def n_free(self) -> int:
        return self.inner.n_free

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)

    @property
    def backend(self) -> Any:
        return self.inner.backend

    @backend.setter
    def backend(self, value: Any) -> None:  # the CLI swaps in a backend with a worker pool
        self.inner.backend = value

    @property
    def system(self):
        """The physical circuit's nodal system."""
        return self.inner.system

    @property
    def last_op(self):
        return self.inner.last_op

    def check_inputs(self, x: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        return self.inner.check_inputs(x)

    def init_state(self, batch_size: int) -> np.ndarray:
        return self.inner.init_state(batch_size)

    def prepare(self, x: np.ndarray) -> None:
        return None

    def relax(self, x, state=None, *, beta: float = 0.0, target=None, n_iter=None, rng=None, tol=None,
              static=None):
        """An operating point with freshly read conductances: one read-noise sample per call,
        shared by the batch (a nudged phase reuses its free phase's sample when the device's
        ``read_refresh`` is ``"free_phase"``)."""
        self._sync()
        reuse = (beta and self.hardware.device.read_refresh == "free_phase" and self._read_version == self._version)
        if not reuse:
            self.last_g = self.effective_conductances(noisy=self.noisy_reads)
            self._read_version = self._version
            self.inner.set_conductances(self.last_g)
        return self.inner.relax(x, state, beta=beta, target=target, n_iter=n_iter, rng=rng, tol=tol, static=static)

    def output(self, state: np.ndarray) -> np.ndarray:
        return self.inner.output(state)

    def cost(self, state: np.ndarray, target: np.ndarray) -> np.ndarray:
        return self.inner.cost(state, target)

    def energy_grad_diff(self, x, s1, s2) -> dict[str, np.ndarray]:
        """``1/2 (dV1^2 - dV2^2)`` across every device, batch mean, per layer (no wires)."""
        diff = self.inner.energy_grad_diff(x, s1, s2)
        return {f"g{k}": diff[f"g{k}"] for k in range(self.n_layers)}

    def edge_drops(self, x: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Voltage across every device [V], ``(batch, n_devices)`` (wires left out)."""
        return self.inner.edge_drops(x, state)[:, : self.n_devices]

    # -- hardware figures ---------------------------------------------------------------------
    def power(self, x: np.ndarray, state: np.ndarray, *, g: np.ndarray | None = None, beta: float = 0.0,
              target: np.ndarray | None = None, ref: np.ndarray | None = None) -> PowerBreakdown:
        """Power per example of a solved phase (default conductances: those of the last solve).

        ``target`` is one-hot (as for :meth:`relax`); ``ref`` the free state for current nudging.
        """
        target_v = None if target is None else self.physical.targets(target)
        return power_breakdown(self.physical, self.last_g if g is None else g, x, state, beta=beta,
                               target_v=target_v, ref=ref)

    def node_capacitances(self) -> np.ndarray:
        """Capacitance to ground [F] of every free node of the physical circuit (wire model)."""
        w = self.hardware.wire
        return node_capacitances(self.physical, w.c_cell, w.c_node, device_edges=self.n_devices)

    def amplifier_supply_power(self) -> float:
        """Quiescent supply power of all amplifiers [W] (not part of any operating point)."""
        a = self.hardware.amplifier
        return float(self.circuit.n_amps * a.supply_voltage * a.supply_current)

    def checkpoint_state(self) -> dict[str, Any]:
        """What a checkpoint must keep besides the parameters: the write- and read-noise
        streams' states (plain JSON), so that a resumed run draws what an uninterrupted one would."""
        return {"write_rng": self._write_rng.bit_generator.state, "read_rng": self._read_rng.bit_generator.state}

    def load_checkpoint_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`checkpoint_state`."""
        self._write_rng.bit_generator.state = state["write_rng"]
        self._read_rng.bit_generator.state = state["read_rng"]

    def copy(self) -> "HardwareNetwork":
        """The same instance (same seed, same devices) with the current stored conductances."""
        out = HardwareNetwork(self.circuit, self.hardware, self.inner.backend, seed=self.seed)
        out.set_conductances(self.g)
        out.noisy_reads = self.noisy_reads
        return out


def wrap_model(model: Any, hardware: str | HardwareConfig | None, overrides: Any = None, *, seed: int = 0,
               **backend_options) -> Any:
    """``model`` (a :class:`ResistiveNetwork`) rebuilt of devices under ``hardware``; passed
    through when ``hardware`` is None. The CLI's ``--hardware`` uses this."""
    if hardware is None:
        if overrides:
            raise ConfigError("--hardware-set needs --hardware (a preset or a file)")
        return model
    if not isinstance(model, ResistiveNetwork):
        raise ConfigError(f"hardware models apply to circuits (--model circuit), not to {type(model).__name__}")
    if getattr(model, "bias_currents", None) is not None:
        raise ConfigError("hardware models do not support trainable bias currents yet")
    return HardwareNetwork(model.circuit, hardware, model.backend, model.g, seed=seed, overrides=overrides,
                           **backend_options)
