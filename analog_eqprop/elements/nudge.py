"""The outputs and their nudge: the physics of EqProp's second phase, written once.

Output ``k`` reads ``V(pos)`` (single-ended) or ``V(pos) - V(neg)`` (differential, ``neg >= 0``).
A nudged phase pulls the outputs towards their targets ``t`` with strength ``beta``, in one of
two ways (``mode``):

* ``"current"``: current sources inject ``I = -beta dC/d(out)`` evaluated at the *free* state
  into ``pos`` (and ``-I`` into ``neg``); ``C`` is any loss (default ``1/2 (out - t)^2``);
* ``"resistive"``: a conductance ``beta`` from ``pos`` to a source at ``t`` above ``neg`` (or
  ground), the current ``beta (out - t)`` leaving ``pos`` and entering ``neg``: ``F = E + beta C``
  with the squared error.

:meth:`Outputs.injected` and :meth:`Outputs.stamps` are what every user of the nudge reads:
the nodal equations and the BCD sweeps, the netlist (cards ``iy<k> 0 pos I`` and ``iz<k> 0 neg
-I``, or ``ry<k> pos t 1/beta`` and ``vy<k> t neg|0 target``) and the power breakdown.

Examples
--------
>>> o = Outputs(pos=[0], neg=[1], mode="current")
>>> o.injected(0.5, np.array([[0.25]]), np.array([[1.0, 0.25]])).tolist()  # -beta (0.75 - 0.25)
[[-0.25]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from analog_eqprop.elements.base import CardSpec, ElementTable, column
from analog_eqprop.errors import ConfigError, DataError, GraphError
from analog_eqprop.spice.names import format_number, unique_name

__all__ = ["Outputs", "NUDGE_MODES"]

NUDGE_MODES = ("current", "resistive")


@dataclass(frozen=True, eq=False)
class Outputs(ElementTable):
    """Outputs: ``pos`` and ``neg`` free nodes (``neg = -1``: single-ended), the nudge ``mode``."""

    pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    neg: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mode: Literal["current", "resistive"] = "current"

    kind: ClassVar[str] = "nudge"
    noun: ClassVar[str] = "output"
    cards: ClassVar[dict[str, CardSpec]] = {"iy": CardSpec(2, "value"), "iz": CardSpec(2, "value"),
                                            "ry": CardSpec(2, "value"), "vy": CardSpec(2, "value", helper=True)}
    legacy: ClassVar[dict[str, str]] = {"out_pos": "pos", "out_neg": "neg", "nudge": "mode"}

    def __post_init__(self) -> None:
        object.__setattr__(self, "pos", column(self.pos, np.int64))
        object.__setattr__(self, "neg", column(self.neg, np.int64))

    def __len__(self) -> int:
        return len(self.pos)

    def remap(self, f) -> "Outputs":
        return self  # outputs are free nodes, whose indices no re-indexing changes

    @property
    def differential(self) -> bool:
        return bool(np.any(self.neg >= 0))

    def read_out(self, v_free: np.ndarray) -> np.ndarray:
        """Output voltages [V]: ``V(pos)``, minus ``V(neg)`` for differential pairs."""
        out = v_free[:, self.pos]
        if self.differential:
            neg = np.where(self.neg >= 0, self.neg, 0)
            out = out - np.where(self.neg >= 0, v_free[:, neg], 0.0)
        return out

    # -- validation -----------------------------------------------------------------------------
    def check(self, circuit) -> None:
        if len(self.neg) != len(self) or len(self) == 0:
            raise GraphError("circuit: needs at least one output, and out_neg must match out_pos")
        if self.pos.min() < 0 or self.pos.max() >= circuit.n_free or self.neg.max() >= circuit.n_free:
            raise GraphError("circuit: outputs must be free nodes")
        same = np.flatnonzero(self.pos == self.neg)
        if same.size:
            raise GraphError(f"circuit: output {int(same[0])} reads V(pos) - V(neg) of one node (pos = neg = "
                             f"{int(self.pos[same[0]])}), which is 0 V whatever the circuit does")
        if self.mode not in NUDGE_MODES:
            raise GraphError(f"circuit: nudge must be one of {NUDGE_MODES}, got {self.mode!r}")

    def check_bcd(self, circuit) -> None:
        return None

    # -- physics --------------------------------------------------------------------------------
    def injected(self, beta, target_v: np.ndarray, ref: np.ndarray, loss_grad=None) -> np.ndarray:
        """Current-mode nudge currents [A] into each ``pos`` (``-I`` into ``neg``), ``(batch,
        n_outputs)``: ``-beta dC/d(out)`` at the free-node voltages ``ref``; ``loss_grad(out,
        target_v)`` gives ``dC/d(out)`` (default: the squared error's ``out - t``)."""
        out = self.read_out(np.asarray(ref))
        grad = (out - target_v) if loss_grad is None else loss_grad(out, target_v)
        return -beta * grad

    def scatter(self, current: np.ndarray, n: int) -> np.ndarray:
        """Per-output currents ``(batch, n_outputs)`` into ``pos`` (and their opposite into
        ``neg``) as node currents ``(batch, n)``."""
        has_neg = self.neg >= 0
        db = np.zeros((current.shape[0], n))
        np.add.at(db, (slice(None), self.pos), current)
        np.add.at(db, (slice(None), self.neg[has_neg]), -current[:, has_neg])
        return db

    def stamps(self, n: int, beta: float, target_v: np.ndarray, ref: np.ndarray | None,
               loss_grad=None) -> tuple[np.ndarray | None, np.ndarray]:
        """What a nudged phase adds to the nodal equations ``G u = b``: ``(dG (n, n) or None,
        db (batch, n))`` over ``n`` unknowns (free nodes first). ``ref``: the free state, for
        current-mode nudging."""
        if self.mode == "current":
            if ref is None:
                raise DataError("current-mode nudging needs the free state as reference (ref)")
            return None, self.scatter(self.injected(beta, target_v, ref, loss_grad), n)
        pos, neg = self.pos, self.neg
        has_neg = neg >= 0
        dG = np.zeros((n, n))
        np.add.at(dG, (pos, pos), beta)
        np.add.at(dG, (neg[has_neg], neg[has_neg]), beta)
        np.add.at(dG, (pos[has_neg], neg[has_neg]), -beta)
        np.add.at(dG, (neg[has_neg], pos[has_neg]), -beta)
        return dG, self.scatter(beta * np.asarray(target_v, dtype=np.float64), n)

    # -- netlist --------------------------------------------------------------------------------
    def header(self, deck) -> None:
        """The outputs' metadata, written with the free nodes."""
        kind = "differential (V(pos) - V(neg))" if self.differential else "single-ended"
        deck.add(f"* outputs: {len(self)} {kind}")
        for k, (p, n) in enumerate(zip(self.pos, self.neg)):
            deck.add(f"* @output {k} pos={deck.name(p)} neg={deck.name(n) if n >= 0 else '-'}")

    def write(self, deck) -> None:
        c, beta = deck.c, deck.beta
        if beta == 0.0:
            return
        nudge_current, target, nudge_ref = deck.nudge_current, deck.target, deck.nudge_ref
        batch = deck.batch if deck.sweep else 1
        if nudge_current is not None and self.mode != "current":
            raise ConfigError("explicit nudge currents need a current-mode circuit (nudge='current'); resistive "
                              "nudging is a conductance to the target")
        if target is None and nudge_current is None:
            raise DataError("a nudged phase (beta != 0) needs its target: pass target (one-hot or soft, shape "
                            f"({len(self)},))")
        has_neg = self.neg >= 0
        if nudge_current is not None:  # any loss: I = -beta dC/dV computed by the caller
            current = deck.rows(nudge_current, len(self), "nudge_current", batch)
            deck.section(f"nudging (beta = {beta!r}, current mode): I = -beta dC/dV at the free state into",
                         "each output node, currents computed by the caller from its loss")
        else:
            t_raw = deck.rows(target, len(self), "target", batch)
            t = c.targets(t_raw)
            if self.mode == "current":
                if nudge_ref is None:
                    raise DataError("current-mode nudging needs the free state as reference: pass nudge_ref, the "
                                    "free-phase free-node voltages")
                ref = deck.rows(nudge_ref, c.n_free, "nudge_ref", batch)
                current = self.injected(beta, t, ref)  # -beta dC/dV(pos); dC/dV(neg) is the opposite
                deck.section(f"nudging (beta = {beta!r}, current mode): I = -beta dC/dV at the free state into",
                             "each output node, C = 1/2 sum of (out - target) squared")
            else:
                deck.section(f"nudging (beta = {beta!r}, resistive): 1/beta ohm from each output to its target")
        deck.add(f"* @nudge beta={format_number(beta)} mode={self.mode}")
        if not deck.sweep and nudge_current is not None:
            deck.add(*deck.numbers("nudge_current", current))
        elif not deck.sweep:
            deck.add(*deck.numbers("target", t_raw))
            if self.mode == "current":
                deck.add(*deck.numbers("nudge_ref", ref))
        for k in range(len(self)):
            pos = deck.name(self.pos[k])
            if self.mode == "current":
                deck.value(f"y{k}" if deck.sweep else f"iy{k}", f"0 {pos}", "I", current[:, k], f"nudge current {k}")
                if has_neg[k]:
                    neg = deck.name(self.neg[k])
                    deck.value(f"z{k}" if deck.sweep else f"iz{k}", f"0 {neg}", "I", -current[:, k],
                               f"nudge current {k}")
            else:
                node = unique_name(f"{pos}_target", deck.taken)
                ref_node = deck.name(self.neg[k]) if has_neg[k] else "0"
                deck.add(f"ry{k} {pos} {node} {format_number(1.0 / beta, 'nudge resistance')}")
                deck.value(f"y{k}" if deck.sweep else f"vy{k}", f"{node} {ref_node}", "V", t[:, k], f"target {k}")

    @classmethod
    def read(cls, reader) -> "Outputs":
        outs = reader.outputs
        return cls(pos=[reader.terminal(pos) for pos, _ in outs],
                   neg=[reader.terminal(neg) if neg else -1 for _, neg in outs], mode=reader.info["nudge"])

    # -- power ----------------------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        """The nudge's sources deliver (current mode: ``I (V_pos - V_neg)``; resistive: the
        target sources), its ``1/beta`` resistors dissipate (resistive mode)."""
        B = pc.w.shape[0]
        zero = {"nudge_sources": np.zeros(B), "nudge_resistors": np.zeros(B)}
        if not pc.beta:
            return zero
        if pc.target_v is None:
            raise DataError("a nudged phase (beta != 0) needs target_v")
        target_v = np.asarray(pc.target_v, dtype=np.float64)
        out = self.read_out(pc.v_free)
        if self.mode == "current":
            if pc.ref is None:
                raise DataError("current-mode nudging needs the free state (ref) to know its currents")
            current = self.injected(pc.beta, target_v, np.asarray(pc.ref)[:, : pc.circuit.n_free])
            return {"nudge_sources": np.sum(current * out, axis=1), "nudge_resistors": np.zeros(B)}
        i_r = pc.beta * (out - target_v)  # from the output through 1/beta into the target source
        return {"nudge_sources": -np.sum(target_v * i_r, axis=1), "nudge_resistors": np.sum(i_r * (out - target_v),
                                                                                              axis=1)}
