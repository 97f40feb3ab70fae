"""The typed contracts between layers: what an energy model and a backend must offer.

Two sides meet here, each written as a :class:`typing.Protocol` (structural: a class satisfies
it by having the members, without inheriting from it) that the layers above type against:

* **energy models** (:class:`EnergyModel`), what EqProp (:mod:`analog_eqprop.eqprop`), the
  trainer (:mod:`analog_eqprop.training`), the gradient checks, the comparison and the API may
  call. The Hopfield network, the resistive network and the hardware network satisfy it. A
  model's optional abilities are protocols of their own, asked for with ``isinstance``:
  :class:`ExactGradient` (an exact gradient to check EqProp against), :class:`FusedSGDStep` (a
  training step in one pass over the weights), :class:`CheckpointState` (state besides the
  parameters that a checkpoint must keep), and :class:`CircuitModel` (a circuit on a backend);
* **backends** (:class:`Backend`), where a circuit's operating point is found, with what each
  can do beyond the common call declared as :class:`BackendCapabilities`.

This module sits below every solver and model (it imports only NumPy and the shared result
types), so that each of them can name the contract without importing the others.

Examples
--------
>>> from analog_eqprop.models import HopfieldNetwork
>>> net = HopfieldNetwork.layered([2, 3, 2], seed=0)
>>> isinstance(net, EnergyModel), isinstance(net, ExactGradient), isinstance(net, CircuitModel)
(True, True, False)
>>> from analog_eqprop.solvers.backends import get_backend
>>> get_backend("bcd").capabilities.per_example_beta, get_backend("numpy").capabilities.per_example_beta
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Mapping, Protocol, TypeGuard, TypeVar, runtime_checkable

import numpy as np

from analog_eqprop.results import OperatingPoint, RelaxResult

if TYPE_CHECKING:  # type names only: the circuit layer sits above this module
    from analog_eqprop.circuits.description import Circuit
    from analog_eqprop.solvers.mna import MNASystem

__all__ = ["EnergyModel", "ExactGradient", "FusedSGDStep", "CheckpointState", "CircuitModel", "Backend",
           "BackendCapabilities", "has_ability", "protocol_members"]


# -- energy models ------------------------------------------------------------------------
@runtime_checkable
class EnergyModel(Protocol):
    """A network that settles to a minimum of an energy, with trainable parameters.

    States are arrays ``(batch, n_state)`` (free units, or every unknown of a circuit [V]);
    inputs ``(batch, n_inputs)``; targets one-hot ``(batch, n_outputs)``.
    """

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The trainable parameters by name; the optimisers update these arrays in place."""
        ...

    @property
    def n_inputs(self) -> int:
        """Features per example."""
        ...

    @property
    def n_outputs(self) -> int:
        """Output units (classes)."""
        ...

    @property
    def n_free(self) -> int:
        """Free units (circuits: free nodes plus any internal ones)."""
        ...

    @property
    def n_layers(self) -> int:
        """Learning-rate layers (:meth:`param_layer` maps each parameter to one)."""
        ...

    @property
    def dtype(self) -> np.dtype:
        """Floating-point type of states and parameters."""
        ...

    def param_layer(self, name: str) -> int:
        """The learning-rate layer of parameter ``name``."""
        ...

    def check_inputs(self, x: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """``x`` checked (DataError naming the problem) and cast as the model computes with it."""
        ...

    def init_state(self, batch_size: int) -> np.ndarray:
        """The starting state of ``batch_size`` examples."""
        ...

    def prepare(self, x: np.ndarray) -> Any:
        """Per-batch work shared by the phases of one batch (passed back as ``static``)."""
        ...

    def relax(self, x: np.ndarray, state: np.ndarray, *, beta: float = 0.0, target: np.ndarray | None = None,
              n_iter: int | None = None, rng: np.random.Generator | None = None, tol: float | None = None,
              static: Any = None) -> RelaxResult:
        """The free phase (``beta == 0``) or a nudged phase from ``state``."""
        ...

    def output(self, state: np.ndarray) -> np.ndarray:
        """The outputs of a state, ``(batch, n_outputs)``."""
        ...

    def cost(self, state: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The loss per example, ``(batch,)``, ``target`` one-hot."""
        ...

    def energy_grad_diff(self, x: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> dict[str, np.ndarray]:
        """``dE/dtheta(s1) - dE/dtheta(s2)``, batch mean, for every parameter."""
        ...

    def project(self) -> None:
        """Bring the parameters back into their domain after an update (clip, mask, program)."""
        ...

    def symmetric_params(self) -> tuple[str, ...]:
        """Parameters that are symmetric matrices (one coupling per unordered pair)."""
        ...

    def param_masks(self) -> dict[str, np.ndarray]:
        """Boolean masks of the parameters that have structural zeros."""
        ...


@runtime_checkable
class ExactGradient(Protocol):
    """A model that knows the exact gradient of its loss (what EqProp is checked against)."""

    def implicit_gradient(self, x: np.ndarray, target: np.ndarray, state0: np.ndarray) -> dict[str, np.ndarray]:
        """``dJ/dtheta`` of ``J = mean C`` at the free fixed point ``state0``."""
        ...


@runtime_checkable
class FusedSGDStep(Protocol):
    """A model that applies an EqProp SGD step in one pass over its weights (never storing
    the gradient), and whose next :meth:`prepare` may take what that step vouches for."""

    def prepare(self, x: np.ndarray, handoff: Any = None) -> Any:
        """As :meth:`EnergyModel.prepare`; ``handoff``: what :meth:`eqprop_sgd_step` returned."""
        ...

    def eqprop_sgd_step(self, x: np.ndarray, s1: np.ndarray, s2: np.ndarray, scale: float,
                        lrs: Mapping[str, float]) -> Any:
        """``p -= scale * (dE/dp(s1) - dE/dp(s2)) * lrs[name]``, then :meth:`EnergyModel.project`."""
        ...


@runtime_checkable
class CheckpointState(Protocol):
    """A model with state besides its parameters that a checkpoint must keep (e.g. noise streams)."""

    def checkpoint_state(self) -> dict[str, Any]:
        """That state as plain JSON data."""
        ...

    def load_checkpoint_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`checkpoint_state`."""
        ...


@runtime_checkable
class CircuitModel(EnergyModel, Protocol):
    """An energy model that is a circuit solved by a backend: its parameters are conductances
    (and, where the circuit has them, other kinds' trained columns: :attr:`element_values`)."""

    @property
    def circuit(self) -> Circuit:
        """The (logical) circuit description."""
        ...

    @property
    def system(self) -> MNASystem:
        """The nodal equations the backend solves."""
        ...

    @property
    def backend(self) -> Backend:
        """Where its operating points are found."""
        ...

    @property
    def g(self) -> np.ndarray:
        """Every conductance [S] in the circuit's edge order (a copy)."""
        ...

    @property
    def element_values(self) -> dict[str, np.ndarray]:
        """The trained columns of element kinds other than conductances (``{kind: array}``,
        e.g. transistor gate voltages [V]) as the backends take them (``values=``); empty
        without such parameters."""
        ...

    @property
    def last_op(self) -> OperatingPoint | None:
        """The last operating point solved (``None`` before the first)."""
        ...

    def set_conductances(self, g: np.ndarray) -> None:
        """Set every conductance [S] from an edge-order vector."""
        ...

    def edge_drops(self, x: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Voltage across every conductance [V], ``(batch, n_edges)``."""
        ...


# -- backends -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend can do beyond the common ``operating_point(system, g, x, beta=, target_v=,
    ref=, u0=)``: each field that is ``True`` names a keyword its ``operating_point`` takes.

    Examples
    --------
    >>> BackendCapabilities(current_sources=True).keywords()
    ('i_ext',)
    """

    current_sources: bool = False
    """``i_ext=``: ideal current sources [A] into the free nodes (trainable bias currents)."""
    same_conductances: bool = False
    """``same_g=True``: the caller promises ``g`` equals the last call's, which skips comparing it."""
    fresh_conductances: bool = False
    """``fresh_g=``: the caller just wrote and checked ``g`` (and may give each node's total [S])."""
    per_example_beta: bool = False
    """``beta`` as an array ``(batch,)``: e.g. the +beta and -beta phases stacked in one batch."""
    nudge_currents: bool = False
    """``nudge_current=``: explicit nudging currents [A] into the outputs (any loss)."""
    device_arrays: bool = False
    """``g`` may be an array of the backend's device library (torch, CuPy), kept there between
    calls (:mod:`analog_eqprop.models.resident`)."""
    element_values: bool = False
    """``values=``: the trained columns of kinds other than conductances (``{kind: array}``,
    e.g. transistor gate voltages [V]) for this call, see
    :meth:`~analog_eqprop.circuits.Circuit.with_values`."""

    _KEYWORDS = {"current_sources": "i_ext", "same_conductances": "same_g", "fresh_conductances": "fresh_g",
                 "per_example_beta": "beta", "nudge_currents": "nudge_current", "device_arrays": "g",
                 "element_values": "values"}

    def keywords(self) -> tuple[str, ...]:
        """The ``operating_point`` keywords these abilities add (``beta`` and ``g`` widen existing ones)."""
        return tuple(self._KEYWORDS[f.name] for f in fields(self) if getattr(self, f.name))


@runtime_checkable
class Backend(Protocol):
    """An engine that finds a circuit's DC operating points for a batch.

    Every backend first checks its arguments with :func:`analog_eqprop.validation.solve_args`,
    so a bad input gets the same error from each.
    """

    name: str
    """Short name (``numpy``, ``bcd``, ``ngspice``) as :func:`~analog_eqprop.solvers.backends.get_backend` takes it."""
    capabilities: BackendCapabilities
    """What it can do beyond the common call."""
    stats: dict[str, Any]
    """Counters of the work done and of the faults survived (empty where there are none)."""

    def operating_point(self, system: MNASystem, g: np.ndarray, x: np.ndarray, *, beta: float = 0.0,
                        target_v: np.ndarray | None = None, ref: np.ndarray | None = None,
                        u0: np.ndarray | None = None) -> OperatingPoint:
        """Operating points of a batch: ``x`` (batch, n_features), ``target_v`` output targets [V],
        ``beta`` [S] the nudge, ``ref`` the free state (current nudging), ``u0`` a warm start."""
        ...


# -- helpers ----------------------------------------------------------------------------------
_ABILITY: dict[tuple[type, type], bool] = {}
_P = TypeVar("_P")


def has_ability(obj: Any, protocol: type[_P]) -> TypeGuard[_P]:
    """Whether ``obj`` has every member ``protocol`` declares, remembered per class.

    ``isinstance`` with a runtime protocol reads every member each time: microseconds, and
    each property's getter runs (a circuit model's ``g`` copies every conductance, its
    ``params`` brings a device copy home). The library asks this instead: members are looked
    up on the class (methods, properties) or in the instance's own attributes, nothing is
    read, and the answer is kept for the class (whose instances all set the same attributes).

    Examples
    --------
    >>> from analog_eqprop.models import HopfieldNetwork
    >>> has_ability(HopfieldNetwork.layered([2, 2], seed=0), FusedSGDStep)
    False
    """
    key = (type(obj), protocol)
    hit = _ABILITY.get(key)
    if hit is None:
        own = getattr(obj, "__dict__", {})
        hit = _ABILITY[key] = all(hasattr(type(obj), m) or m in own for m in protocol_members(protocol))
    return hit


def protocol_members(protocol: type) -> frozenset[str]:
    """The names a protocol declares (its own and those of the protocols it extends).

    Examples
    --------
    >>> sorted(protocol_members(ExactGradient))
    ['implicit_gradient']
    """
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass in (object, Protocol, Any) or not getattr(klass, "_is_protocol", False):
            continue
        names.update(k for k in vars(klass) if not k.startswith("_"))
        names.update(k for k in getattr(klass, "__annotations__", {}) if not k.startswith("_"))
    return frozenset(names)
