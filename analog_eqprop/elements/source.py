"""Ideal voltage sources to ground: the inputs (``V = gain * x[feature] + offset``) and bias rails.

Each source owns one terminal (after the free nodes). +x / -x input pairs are two sources of
gains +g and -g reading one feature; a bias rail reads no feature (``feature = -1``) and sits
at ``offset`` volts. In the nodal equations a source is eliminated exactly: a conductance
``g`` to it is ``g`` to ground plus the Norton current ``g V_s``.

Card: ``vs<k> node 0 V`` (in a ``.dc`` sweep an input source is a behavioural source reading a
``pwl()`` table of its values, one per example, and the swept index source ``vidx`` is written
with the sources).

Examples
--------
>>> s = Sources(labels=("x0p", "x0n", "vb"), role=("input", "input", "bias"), feature=[0, 0, -1],
...             gain=[1.0, -1.0, 0.0], offset=[0.0, 0.0, 1.0])
>>> s.voltages(np.array([[0.25]])).tolist()
[[0.25, -0.25, 1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from analog_eqprop.elements.base import CardSpec, ElementTable, TerminalMap, column, labels_column
from analog_eqprop.errors import GraphError
from analog_eqprop.spice.names import encode_label, format_number

__all__ = ["Sources"]


@dataclass(frozen=True, eq=False)
class Sources(ElementTable):
    """Voltage sources: ``labels`` (their node labels), ``role`` (``"input"`` or ``"bias"``),
    ``feature`` (data column, -1 for none), ``gain`` [V per unit feature], ``offset`` [V]."""

    labels: tuple[str, ...] = ()
    role: tuple[str, ...] = ()
    feature: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    gain: np.ndarray = field(default_factory=lambda: np.zeros(0))
    offset: np.ndarray = field(default_factory=lambda: np.zeros(0))

    kind: ClassVar[str] = "source"
    noun: ClassVar[str] = "source"
    owns_terminals: ClassVar[bool] = True
    fixed_voltage: ClassVar[bool] = True
    cards: ClassVar[dict[str, CardSpec]] = {"vs": CardSpec(2, "value")}
    legacy: ClassVar[dict[str, str]] = {"sources": "labels", "source_kind": "role", "source_feature": "feature",
                                        "source_gain": "gain", "source_offset": "offset"}
    object_columns: ClassVar[tuple[str, ...]] = ("labels", "role")

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", labels_column(self.labels))
        object.__setattr__(self, "role", labels_column(self.role))
        object.__setattr__(self, "feature", column(self.feature, np.int64))
        for name in ("gain", "offset"):
            object.__setattr__(self, name, column(getattr(self, name), np.float64))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def is_input(self) -> np.ndarray:
        """Per source: whether it is an input (reads a feature)."""
        return np.array([k == "input" for k in self.role], dtype=bool)

    def voltages(self, x: np.ndarray) -> np.ndarray:
        """Source voltages [V], ``(batch, n)``, for features ``x`` ``(batch, n_features)``."""
        x = np.asarray(x, dtype=np.float64)
        feat = np.where(self.feature >= 0, self.feature, 0)
        vals = x[:, feat] * self.gain
        return np.where(self.feature >= 0, vals, 0.0) + self.offset

    # -- validation -----------------------------------------------------------------------------
    def check(self, circuit) -> None:
        for name, legacy in (("role", "source_kind"), ("feature", "source_feature"), ("gain", "source_gain"),
                             ("offset", "source_offset")):
            if len(getattr(self, name)) != len(self):
                raise GraphError(f"circuit: {legacy} must have one entry per source")
        for name, legacy in (("gain", "source_gain"), ("offset", "source_offset")):
            a = getattr(self, name)
            if not np.all(np.isfinite(a)):
                k = int(np.argmax(~np.isfinite(a)))
                raise GraphError(f"circuit: {legacy}[{k}] ({self.labels[k]}) is {a[k]!r}; it must be finite")
        roles = set(self.role) - {"input", "bias"}
        if roles:
            k = next(i for i, r in enumerate(self.role) if r in roles)
            raise GraphError(f"circuit: source {self.labels[k]} has role {self.role[k]!r}; a source is an 'input' "
                             "(reads a feature) or a 'bias' rail")
        bad = (self.feature < -1) | ((self.feature >= 0) & ~self.is_input)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise GraphError(f"circuit: source {self.labels[k]} ({self.role[k]}) has feature {self.feature[k]}; an "
                             "input reads a feature >= 0, a bias rail none (-1)")
        if np.any(self.feature >= circuit.n_features):
            k = int(np.argmax(self.feature >= circuit.n_features))
            raise GraphError(f"circuit: source {self.labels[k]} reads feature {self.feature[k]} "
                             f"but there are only {circuit.n_features}")

    # -- terminals ------------------------------------------------------------------------------
    def owned_labels(self) -> tuple[str, ...]:
        return self.labels

    def owned_roles(self, circuit) -> list[str]:
        return [f"{k} source" for k in self.role]

    def owned_voltages(self, circuit, v_free, v_src) -> np.ndarray:
        return v_src

    def terminal_map(self, circuit) -> TerminalMap:
        n = len(self)
        none = np.full(n, -1)
        return TerminalMap(none, np.zeros(n), none, np.zeros(n), np.arange(n), np.zeros(n))

    def links(self, circuit):
        first = circuit.terminal_offset(self.kind)
        return [(first + np.arange(len(self)), np.full(len(self), -1))]  # a fixed voltage: a path to ground

    # -- netlist --------------------------------------------------------------------------------
    def write(self, deck) -> None:
        c = deck.c
        deck.section("sources: ideal voltage sources to ground [V]")
        role = None
        for s in range(len(self)):
            if self.role[s] != role:
                role = self.role[s]
                if role == "input":
                    note = "folded into the Norton equivalents below, no element" if deck.folded[s] else \
                        "V = gain * x[feature] + offset"
                    deck.add(f"* inputs: {note}")
                else:
                    deck.add("* bias rails")
            t = c.n_free + s
            deck.add(f"* @source {deck.name(t)} label={encode_label(self.labels[s])} kind={encode_label(self.role[s])} "
                     f"feature={int(self.feature[s])} gain={format_number(self.gain[s])} "
                     f"offset={format_number(self.offset[s])}")
            if not deck.folded[s]:
                if deck.sweep and self.role[s] == "input":
                    deck.value(f"s{s}", f"{deck.name(t)} 0", "V", deck.v_src[:, s], f"source {s}")
                else:
                    deck.add(f"vs{s} {deck.name(t)} 0 {format_number(deck.v_src[0, s], f'source {s}')}")
        if deck.sweep:
            deck.section("sweep index: example k is the .dc point where v(idx) = k")
            deck.add(f"vidx {deck.idx} 0 0")

    @classmethod
    def read(cls, reader) -> "Sources":
        """The sources from ``@source`` metadata; a rail's ``vs<k>`` value is honoured (an input's
        comes from ``gain * x + offset``); the Norton form's folded inputs are dropped there
        (:meth:`analog_eqprop.netlist.parser.Reader.keep`)."""
        rows = reader.source_rows()
        return cls(labels=tuple(s["label"] for s in rows), role=tuple(s["kind"] for s in rows),
                   feature=[s["feature"] for s in rows], gain=[s["gain"] for s in rows],
                   offset=[s["offset"] for s in rows])

    # -- power ----------------------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        """Delivered power [W]: each source's voltage times the current it drives into the network."""
        first = pc.circuit.n_free
        per = pc.v_src * pc.out[:, first:first + len(self)]
        pc.per_source = per
        return {"sources": per.sum(axis=1)}

    def check_bcd(self, circuit) -> None:
        return None
