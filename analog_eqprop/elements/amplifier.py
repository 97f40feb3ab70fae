"""Bidirectional amplifiers (Kendall et al. 2020): a VCVS forward, a CCCS backward.

Amplifier ``k`` on free node ``node`` owns one terminal, the *amplified copy* at
``A (V(node) + V_os)`` (``gain`` A, input-referred ``offset`` V_os [V]). The VCVS drives the
copy; the CCCS draws ``back * I_out`` from the node, ``I_out`` being the current the copy drives
into the network. ``back == gain`` keeps the circuit reciprocal (an energy-based model);
Kendall's ``1 / gain`` does not. In the nodal equations the copy is eliminated: a current
leaving it enters the node's KCL row times ``back``, its voltage is ``gain`` times the node's
plus ``gain * offset`` (:class:`~analog_eqprop.elements.base.TerminalMap`).

Cards: ``e<k> c_int 0 n 0 A`` (VCVS), ``va<k> c_int c V`` (an ammeter holding ``-A V_os``:
``I(va<k>)`` is the copy's output current) and ``f<k> n 0 va<k> back`` (CCCS). Hardware
models set the gain, its spread and the offsets (:class:`~analog_eqprop.hardware.AmplifierConfig`).

Examples
--------
>>> t = Amplifiers(node=[0], gain=[4.0], back=[0.25], labels=("h_amp",), offset=[0.01])
>>> t.owned_voltages(None, np.array([[0.1]]), None).round(6).tolist()
[[0.44]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from analog_eqprop.elements.base import CardSpec, ElementTable, TerminalMap, column, labels_column
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.spice.names import encode_label, format_number, unique_name

__all__ = ["Amplifiers"]


@dataclass(frozen=True, eq=False)
class Amplifiers(ElementTable):
    """Amplifiers: input ``node`` (a free node), ``gain`` A, ``back`` (CCCS gain), ``labels``
    (of the copies), ``offset`` [V] (input-referred)."""

    node: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    gain: np.ndarray = field(default_factory=lambda: np.zeros(0))
    back: np.ndarray = field(default_factory=lambda: np.zeros(0))
    labels: tuple[str, ...] = ()
    offset: np.ndarray = field(default_factory=lambda: np.zeros(0))

    kind: ClassVar[str] = "amplifier"
    noun: ClassVar[str] = "amplifier"
    owns_terminals: ClassVar[bool] = True
    cards: ClassVar[dict[str, CardSpec]] = {"e": CardSpec(4, "value", helper=True), "va": CardSpec(2, "value"),
                                            "f": CardSpec(2, "source and gain")}
    legacy: ClassVar[dict[str, str]] = {"amp_node": "node", "amp_gain": "gain", "amp_back": "back",
                                        "amp_names": "labels", "amp_offset": "offset"}
    object_columns: ClassVar[tuple[str, ...]] = ("labels",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "node", column(self.node, np.int64))
        if len(self.offset) == 0:
            object.__setattr__(self, "offset", np.zeros(len(self.node)))
        for name in ("gain", "back", "offset"):
            object.__setattr__(self, name, column(getattr(self, name), np.float64))
        object.__setattr__(self, "labels", labels_column(self.labels))

    def __len__(self) -> int:
        return len(self.node)

    # -- validation -----------------------------------------------------------------------------
    def check(self, circuit) -> None:
        n = len(self)
        if len(self.gain) != n or len(self.back) != n or len(self.labels) != n or len(self.offset) != n:
            raise GraphError("circuit: amplifier arrays differ in length")
        for name, legacy in (("gain", "amp_gain"), ("back", "amp_back")):
            a = getattr(self, name)
            if not np.all(np.isfinite(a)):
                k = int(np.argmax(~np.isfinite(a)))
                raise GraphError(f"circuit: {legacy}[{k}] ({self.labels[k]}) is {a[k]!r}; it must be finite")
        if np.any(self.gain <= 0):
            k = int(np.argmax(self.gain <= 0))
            raise GraphError(f"circuit: amplifier {self.labels[k]} has gain {self.gain[k]!r}; amplifier gains "
                             "must be > 0")
        if not np.all(np.isfinite(self.offset)):
            k = int(np.argmax(~np.isfinite(self.offset)))
            raise GraphError(f"circuit: amplifier {self.labels[k]} has offset {self.offset[k]!r} V; "
                             "offsets must be finite")
        if n and (self.node.min() < 0 or self.node.max() >= circuit.n_free):
            raise GraphError("circuit: an amplifier input must be a free node")

    # -- terminals ------------------------------------------------------------------------------
    def owned_labels(self) -> tuple[str, ...]:
        return self.labels

    def owned_roles(self, circuit) -> list[str]:
        nodes = circuit.nodes
        return [f"amplifier output (of node {nodes[j]!r})" if 0 <= j < len(nodes) else "amplifier output"
                for j in self.node]

    def owned_voltages(self, circuit, v_free, v_src) -> np.ndarray:
        return (v_free[:, self.node] + self.offset) * self.gain

    def terminal_map(self, circuit) -> TerminalMap:
        n = len(self)
        return TerminalMap(self.node, self.back, self.node, self.gain, np.full(n, -1), self.gain * self.offset)

    def links(self, circuit):
        return [(self.node, circuit.terminal_offset(self.kind) + np.arange(len(self)))]  # the copy follows its node

    # -- netlist --------------------------------------------------------------------------------
    def write(self, deck) -> None:
        c = deck.c
        if not len(self):
            return
        deck.section("amplifiers (Kendall et al. 2020): VCVS e<k> of gain A drives the amplified copy",
                     "through the 0 V ammeter va<k>, and CCCS f<k> draws back_gain times I(va<k>) from the neuron")
        first = c.terminal_offset(self.kind)
        for k in range(len(self)):
            node, copy = deck.name(self.node[k]), deck.name(first + k)
            if getattr(deck, "bare", False) and self.offset[k] == 0:
                # a deck nobody reads: the CCCS senses the VCVS's own branch current (ngspice finds the
                # branch of an E source), which saves the ammeter's node and branch -- two of the
                # matrix's equations per amplifier. I(e<k>) flows into the copy's node through the
                # source, the opposite of I(va<k>): hence the minus sign.
                deck.add(f"e{k} {copy} 0 {node} 0 {format_number(self.gain[k], f'amplifier {k} gain')}",
                         f"f{k} {node} 0 e{k} {format_number(-self.back[k], f'amplifier {k} back gain')}")
                continue
            internal = unique_name(f"{copy}_int", deck.taken)
            # V(copy) = V(internal) - V(va) = A V(node) + A V_os, so va holds -A V_os (0: an ammeter)
            volts = "0" if self.offset[k] == 0 else \
                format_number(-self.gain[k] * self.offset[k], f"amplifier {k} offset")
            deck.add(f"* @amp {copy} label={encode_label(self.labels[k])} node={node}",
                     f"e{k} {internal} 0 {node} 0 {format_number(self.gain[k], f'amplifier {k} gain')}",
                     f"va{k} {internal} {copy} {volts}",
                     f"f{k} {node} 0 va{k} {format_number(self.back[k], f'amplifier {k} back gain')}")

    @classmethod
    def read(cls, reader) -> "Amplifiers":
        e, va, f = reader.by_prefix("e"), reader.by_prefix("va"), reader.by_prefix("f")
        node, gain, back, offset = [], [], [], []
        for k, amp in enumerate(reader.amps):
            if k not in e or k not in va or k not in f:
                raise reader.fail(amp["line"], f"amplifier {k} needs elements e{k}, va{k} and f{k}")
            inner = e[k].nodes[0]
            if e[k].nodes[1:] != ("0", amp["node"], "0") or va[k].nodes != (inner, amp["copy"]) or \
                    f[k].nodes != (amp["node"], "0") or f[k].ref != f"va{k}" or not reader.is_free(amp["node"]):
                raise reader.fail(e[k].line, f"amplifier {k}: e{k}, va{k}, f{k} are not wired as the compiler writes "
                                             "them")
            if not e[k].value > 0:  # the offset below divides by it; a circuit's amplifier gains are > 0
                raise reader.fail(e[k].line, f"amplifier {k}: e{k} has gain {e[k].value!r}; amplifier gains must "
                                             "be > 0")
            node.append(reader.terminal(amp["node"]))
            gain.append(e[k].value)
            back.append(f[k].value)
            offset.append(-(va[k].value or 0.0) / e[k].value)  # va holds -A V_os (see write)
        return cls(node=node, gain=gain, back=back, labels=tuple(a["label"] for a in reader.amps), offset=offset)

    # -- power and hardware ---------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        """Delivered, net: the VCVS delivers ``V_copy I_out``, the CCCS absorbs ``V_node back I_out``
        (a reciprocal amplifier, ``back = A``, delivers nothing net)."""
        if not len(self):
            return {"amplifiers": np.zeros(pc.w.shape[0])}
        first = pc.circuit.terminal_offset(self.kind)
        sl = slice(first, first + len(self))
        i_copy, v_copy = pc.out[:, sl], pc.w[:, sl]
        return {"amplifiers": np.sum(i_copy * (v_copy - self.back * pc.v_free[:, self.node]), axis=1)}

    def hardware(self, cfg, rng: np.random.Generator) -> "Amplifiers":
        """Under the amplifier model ``cfg.amplifier``: a set ``gain`` replaces every gain A and
        rescales the back gains so that their relation to A (``1/A``, ``A``, or fixed) is kept;
        ``gain_variation`` multiplies each gain and each back gain by its own fixed factor
        ``1 + sigma z`` drawn from ``rng``; ``offset`` gives each amplifier its own fixed
        input-referred offset ``offset * z`` [V] (z standard normal, drawn after the gain
        factors, so the gains do not depend on it)."""
        amp = getattr(cfg, "amplifier", cfg)
        if not len(self):
            return self
        A, back = self.gain.copy(), self.back.copy()
        if amp.gain is not None:
            if np.allclose(back * A, 1.0):
                back = np.full_like(back, 1.0 / amp.gain)
            elif np.allclose(back, A):
                back = np.full_like(back, amp.gain)
            A = np.full_like(A, amp.gain)
        z = rng.standard_normal((2, len(self)))
        A = A * np.maximum(1.0 + amp.gain_variation * z[0], 0.1)
        back = back * np.maximum(1.0 + amp.gain_variation * z[1], 0.1)
        if not amp.offset:
            return self.replace(gain=A, back=back)
        return self.replace(gain=A, back=back, offset=self.offset + amp.offset * rng.standard_normal(len(self)))

    def check_bcd(self, circuit) -> None:
        if np.any(self.offset != 0.0):
            k = int(np.argmax(self.offset != 0.0))
            raise ConfigError(f"BCD: amplifier {self.labels[k]} has an offset ({self.offset[k]:g} V), which the "
                              "block updates do not model; use backend='numpy'")
        nonrec = np.abs(self.back - self.gain) > 1e-12 * np.abs(self.gain)
        if np.any(nonrec):
            k = int(np.argmax(nonrec))
            raise ConfigError(f"BCD: amplifier {self.labels[k]} has gain {self.gain[k]:g} but back gain "
                              f"{self.back[k]:g}; only reciprocal amplifiers (back gain == gain) leave an energy to "
                              "minimise; use backend='numpy'")
