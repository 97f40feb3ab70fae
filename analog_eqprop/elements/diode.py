"""Diodes: SPICE level-1 junctions with an optional series resistance, as ngspice computes them.

:func:`diode_current` reproduces ngspice 39's DC diode equations (``dioload.c``) so that the
NumPy solver and ngspice find the same operating point to 1e-9 V:

* forward (``v >= -3 n V_T``): ``i = IS (exp(v / (n V_T)) - 1)``
* reverse: ``i = -IS (1 + (3 n V_T / (e v))^3)`` (ngspice's smooth cubic, not the plain exponential)
* breakdown (only if ``BV`` is given, ``v < -BV_eff``): ``i = -IS exp(-(BV_eff + v) / (NBV V_T))``

plus ``gmin * v`` (ngspice's 1e-12 S across every junction), with ``V_T = k T / q`` at
300.15 K using ngspice's constants. A series resistance ``RS`` becomes an internal node in
ngspice; :func:`branch_current` solves the junction and ``RS`` together for a branch voltage
(the law the Newton solver's reduced system and the power breakdown both use).

The table (:class:`Diodes`): ``anode``, ``cathode`` (terminals), ``model`` (index into
``models``, the cards). Card: ``d<k> anode cathode MODEL`` and one ``.model`` card per model
(``* @model NAME ideal=1`` marks the ideal-diode limit). Co-content: the integral of the
junction current. Hardware models replace every card by theirs (``diode = "NAME"``).

Examples
--------
>>> d = DiodeModel("DX", IS=1e-14, N=1.0)
>>> i, g = diode_current(np.array([0.6]), d)
>>> float(i[0])  # ngspice 39.3 reports 1.18720e-04 A for this junction
0.00011871962955870681
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from analog_eqprop.elements.base import Branches, CardSpec, ElementTable, column
from analog_eqprop.elements.library import (
    E,
    GMIN,
    HARDWARE_MODELS_DIR,
    T_NOMINAL,
    model_cards,
    read_library,
    resolve_model,
    thermal_voltage,
)
from analog_eqprop.errors import ConfigError, GraphError, NetlistError
from analog_eqprop.spice.names import check_model_name, format_number

__all__ = ["DiodeModel", "Diodes", "diode_current", "branch_current", "parse_model_cards", "load_diode_models",
           "diode_model"]


@dataclass(frozen=True)
class DiodeModel:
    """A SPICE diode model card (level 1), the parameters that matter at DC plus the rest.

    Parameters
    ----------
    name : str
        Model name as it appears in the netlist (letters, digits, ``_``).
    IS : float
        Saturation current [A].
    N : float
        Emission coefficient.
    RS : float
        Series resistance [ohm]; 0 for none.
    BV : float or None
        Reverse breakdown voltage [V]; None for no breakdown region.
    IBV : float
        Current at the breakdown voltage [A].
    NBV : float
        Breakdown emission coefficient (ngspice default: N).
    extra : tuple of (str, float)
        Other card parameters (CJO, VJ, M, TT, ...) that matter only for AC and transient runs.
    ideal : bool
        Marks the ideal-diode limit: the exact block coordinate descent solver treats it as a
        hard clamp; SPICE simulates the card itself, an approximation of the ideal.
    """

    name: str
    IS: float = 1e-14
    N: float = 1.0
    RS: float = 0.0
    BV: float | None = None
    IBV: float = 1e-3
    NBV: float | None = None
    extra: tuple[tuple[str, float], ...] = field(default=())
    ideal: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name):
            raise ConfigError(f"diode model name {self.name!r} must be letters, digits and '_' "
                              "(starting with a letter)")
        for key in ("IS", "N", "IBV"):
            v = getattr(self, key)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"diode model {self.name}: {key} must be a finite number > 0, got {v!r}")
        if not (math.isfinite(self.RS) and self.RS >= 0):
            raise ConfigError(f"diode model {self.name}: RS must be >= 0 ohm, got {self.RS!r}")
        if self.BV is not None and not (math.isfinite(self.BV) and self.BV > 0):
            raise ConfigError(f"diode model {self.name}: BV must be > 0 V, got {self.BV!r}")

    def vte(self, temperature_k: float = T_NOMINAL) -> float:
        """``N k T / q`` [V]."""
        return self.N * thermal_voltage(temperature_k)

    def breakdown_voltage(self, temperature_k: float = T_NOMINAL, reltol: float = 1e-3) -> float | None:
        """ngspice's effective breakdown voltage (``DIOtBrkdwnV``, ``diotemp.c``) at TEMP = TNOM."""
        if self.BV is None:
            return None
        vt = thermal_voltage(temperature_k)
        nbv = self.NBV if self.NBV is not None else self.N
        bv, cbv = self.BV, self.IBV
        if cbv < self.IS * bv / vt:
            return bv
        tol = reltol * cbv
        xbv = bv - nbv * vt * math.log(1 + cbv / self.IS)
        for _ in range(25):
            xbv = bv - nbv * vt * math.log(cbv / self.IS + 1 - xbv / vt)
            xcbv = self.IS * (math.exp((bv - xbv) / (nbv * vt)) - 1 + xbv / vt)
            if abs(xcbv - cbv) <= tol:
                break
        return xbv

    def card(self) -> str:
        """The ``.model`` line."""
        parts = [f"IS={self.IS:.10g}", f"N={self.N:.10g}"]
        if self.RS:
            parts.append(f"RS={self.RS:.10g}")
        if self.BV is not None:
            parts += [f"BV={self.BV:.10g}", f"IBV={self.IBV:.10g}"]
        if self.NBV is not None:
            parts.append(f"NBV={self.NBV:.10g}")
        parts += [f"{k}={v:.10g}" for k, v in self.extra]
        return f".model {self.name} D({' '.join(parts)})"


def diode_current(v: np.ndarray, model: DiodeModel, *, gmin: float = GMIN, temperature_k: float = T_NOMINAL,
                  reltol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Junction current ``i(v)`` [A] and conductance ``di/dv`` [S], ngspice's DC equations.

    ``v`` is the junction voltage (anode minus cathode, after any series resistance).
    """
    v = np.asarray(v, dtype=np.float64)
    vte = model.vte(temperature_k)
    IS = model.IS
    fwd = v >= -3 * vte
    # Forward branch; exp's argument is capped only to avoid inf in the unused lanes of np.where.
    ev = np.exp(np.minimum(np.where(fwd, v, 0.0) / vte, 700.0))
    i_f, g_f = IS * (ev - 1), IS * ev / vte
    vr = np.where(fwd, -1.0, v)  # the reverse formula divides by v
    arg = (3 * vte / (vr * E)) ** 3
    i_r, g_r = -IS * (1 + arg), IS * 3 * arg / vr
    i = np.where(fwd, i_f, i_r)
    g = np.where(fwd, g_f, g_r)
    bv = model.breakdown_voltage(temperature_k, reltol)
    if bv is not None:
        vtb = (model.NBV if model.NBV is not None else model.N) * thermal_voltage(temperature_k)
        brk = v < -bv
        if np.any(brk):
            evr = np.exp(np.minimum(-(bv + np.where(brk, v, -bv)) / vtb, 700.0))
            i = np.where(brk, -IS * evr, i)
            g = np.where(brk, IS * evr / vtb, g)
    return i + gmin * v, g + gmin


def branch_current(v: np.ndarray, model: DiodeModel, *, gmin: float = 1e-12, reltol: float = 1e-3,
                   max_iter: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Current [A], conductance ``di/dv`` [S] and junction voltage [V] of a diode *with* its
    series resistance, for branch voltages ``v`` [V] (anode terminal minus cathode).

    Solves ``h(v_j) = I_D(v_j) + (v_j - v) / RS = 0`` for the junction voltage ``v_j``, whose
    root lies between 0 and ``v``: Newton from ``v_T n log(1 + v / (RS IS))`` (the junction
    voltage if all of ``v / RS`` flowed, an upper bound where ``h`` is convex), falling back to
    bisection whenever a step leaves the bracket, until the next step would be below rounding.

    Examples
    --------
    >>> m = DiodeModel("D1", IS=4.352e-9, N=1.906, RS=0.6458)
    >>> i, g, vj = branch_current(np.array([1.0]), m)
    >>> bool(abs(vj[0] + m.RS * i[0] - 1.0) < 1e-15), bool(g[0] < 1 / m.RS)
    (True, True)
    """
    v = np.asarray(v, dtype=np.float64)
    rs = float(model.RS)
    if rs == 0.0:
        i, g = diode_current(v, model, gmin=gmin, reltol=reltol)
        return i, g, v
    lo, hi = np.minimum(v, 0.0), np.maximum(v, 0.0)
    est = model.vte() * np.log1p(np.maximum(v, 0.0) / (rs * model.IS))
    vj = np.where(v > 0, np.minimum(v, est), v)
    bv = model.breakdown_voltage(reltol=reltol)
    if bv is not None and np.any(v < -bv):
        # in breakdown h is concave: start from the lower bound, the junction voltage if all of
        # (-v - BV) / RS flowed (from v itself, Newton crawled on exp's 700 cap and stopped
        # after max_iter at 1e295 A for a 1N4148 at -224 V)
        vtb = (model.NBV if model.NBV is not None else model.N) * thermal_voltage()
        est_b = -bv - vtb * np.log1p(np.maximum(-v - bv, 0.0) / (rs * model.IS))
        vj = np.where(v < -bv, np.maximum(v, est_b), vj)
    small = 1e-7 * model.vte()
    i_out, g_out, vj_out = np.empty_like(v), np.empty_like(v), vj.copy()
    act = np.arange(v.size)  # flat indices still iterating
    vf, vj, lo, hi = v.reshape(-1), vj.reshape(-1), lo.reshape(-1), hi.reshape(-1)
    for _ in range(max_iter):
        i, g = diode_current(vj, model, gmin=gmin, reltol=reltol)
        h = i + (vj - vf) / rs
        step = h / (g + 1.0 / rs)
        # done: after a step s <= 1e-7 n V_T the next Newton step, ~s^2 / (2 n V_T), is below
        # rounding, and so is the error of carrying i linearly to the new point (g s^2 / 2 n V_T):
        # take that point without another evaluation (for most junctions this saves one of two)
        done = np.abs(step) <= small
        idx = act[done]
        vj_out.flat[idx] = vj[done] - step[done]
        i_out.flat[idx] = i[done] - g[done] * step[done]
        g_out.flat[idx] = g[done]
        keep = ~done
        if not keep.any():
            break
        act, vj, vf, step, h = act[keep], vj[keep], vf[keep], step[keep], h[keep]
        hi = np.where(h > 0, np.minimum(hi[keep], vj), hi[keep])
        lo = np.where(h < 0, np.maximum(lo[keep], vj), lo[keep])
        new = vj - step
        vj = np.where((new < lo) | (new > hi), 0.5 * (lo + hi), new)  # Newton left the bracket: bisect
    else:
        i, g = diode_current(vj, model, gmin=gmin, reltol=reltol)
        vj_out.flat[act], i_out.flat[act], g_out.flat[act] = vj, i, g
    return i_out, g_out / (1.0 + rs * g_out), vj_out


def parse_model_cards(text: str, *, source: str = "<text>") -> dict[str, DiodeModel]:
    """Diode ``.model`` cards from SPICE library text (``+`` continuation lines joined)."""
    models: dict[str, DiodeModel] = {}
    known = {"IS", "N", "RS", "BV", "IBV", "NBV"}
    for name, _, params in model_cards(text, ("D",)):
        kw = {k: v for k, v in params if k in known}
        extra = tuple((k, v) for k, v in params if k not in known)
        if name in models:
            raise NetlistError(f"{source}: diode model {name} defined twice")
        models[name] = DiodeModel(name, extra=extra, **kw)
    return models


def load_diode_models(path: str | Path | None = None) -> dict[str, DiodeModel]:
    """Diode models from a ``.lib`` file of ``.model NAME D(...)`` cards (default: the shipped
    ``hardware_models/diodes.lib``, see :func:`~analog_eqprop.elements.library.hardware_models_dir`).

    Examples
    --------
    >>> sorted(load_diode_models())
    ['D1N4148', 'DIDEAL', 'DSHOCKLEY']
    """
    path = Path(path) if path else HARDWARE_MODELS_DIR / "diodes.lib"
    return parse_model_cards(read_library(path, "diode model"), source=str(path))


def diode_model(spec: str | Path | DiodeModel, models: dict[str, DiodeModel] | None = None) -> DiodeModel:
    """A diode model from a card name, a user's library file, or a model passed through.

    ``spec`` is a name from ``models`` (default: the shipped ``diodes.lib``); or ``FILE:NAME``,
    card ``NAME`` of the library file ``FILE``; or ``FILE`` alone when it holds exactly one
    diode card. Anything but a bare card name (letters, digits, ``_``) is read as a path,
    relative to the working directory.

    Examples
    --------
    >>> diode_model("D1N4148").N
    1.906
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     lib = pathlib.Path(tmp, "mine.lib")
    ...     _ = lib.write_text(".model DFAST D(IS=2n N=1.5)\\n")
    ...     diode_model(str(lib)).name, diode_model(f"{lib}:DFAST").N
    ('DFAST', 1.5)
    """
    if isinstance(spec, DiodeModel):
        return spec
    return resolve_model(spec, load_diode_models, "diode model", models)


def _junction_cocontent(v: np.ndarray, model: DiodeModel, gmin: float) -> np.ndarray:
    """``integral_0^v i(u) du`` [W] of :func:`diode_current` (the junction alone), branch by branch."""
    vte, IS = model.vte(), model.IS
    edge = -3 * vte
    k = IS * (3 * vte / E) ** 3 / 2

    def plain(u):  # forward branch, then ngspice's reverse cubic below -3 n V_T
        fwd = u >= edge
        uf = np.where(fwd, u, 0.0)
        ur = np.where(fwd, edge, u)
        f_fwd = IS * (vte * np.expm1(np.minimum(uf / vte, 700.0)) - uf)
        f_edge = IS * (vte * math.expm1(-3.0) - edge)
        return np.where(fwd, f_fwd, f_edge + (-IS * ur + k / (ur * ur)) - (-IS * edge + k / (edge * edge)))

    v = np.asarray(v, dtype=np.float64)
    out = plain(v)
    bv = model.breakdown_voltage()
    if bv is not None:
        vtb = (model.NBV if model.NBV is not None else model.N) * thermal_voltage()
        brk = v < -bv
        if np.any(brk):
            vb = np.where(brk, v, -bv)
            out = np.where(brk, plain(np.array(-bv)) + IS * vtb * np.expm1(-(bv + vb) / vtb), out)
    return out + 0.5 * gmin * v * v


@dataclass(frozen=True, eq=False)
class Diodes(ElementTable):
    """Diodes: terminals ``anode``, ``cathode``; ``model`` indexes ``models`` (the cards)."""

    anode: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cathode: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    model: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    models: tuple[DiodeModel, ...] = ()

    kind: ClassVar[str] = "diode"
    noun: ClassVar[str] = "diode"
    card_model: ClassVar[type | None] = DiodeModel
    terminals: ClassVar[tuple[str, ...]] = ("anode", "cathode")
    linear: ClassVar[bool] = False
    cards: ClassVar[dict[str, CardSpec]] = {"d": CardSpec(2, "model")}
    legacy: ClassVar[dict[str, str]] = {"diode_anode": "anode", "diode_cathode": "cathode", "diode_model": "model",
                                        "models": "models"}

    def __post_init__(self) -> None:
        for name in ("anode", "cathode", "model"):
            object.__setattr__(self, name, column(getattr(self, name), np.int64))
        object.__setattr__(self, "models", tuple(self.models))

    def __len__(self) -> int:
        return len(self.model)

    def take(self, rows) -> "Diodes":
        return super().take(rows)


    def groups(self) -> list[tuple[DiodeModel, np.ndarray]]:
        """``(model, indices of its diodes)`` for every model in use."""
        return [(self.models[m], np.flatnonzero(self.model == m)) for m in np.unique(self.model)]

    # -- validation -----------------------------------------------------------------------------
    def check(self, circuit) -> None:
        super().check(circuit)
        if np.any(circuit.terminal_kind(self.anode) == 2) or np.any(circuit.terminal_kind(self.cathode) == 2):
            raise GraphError("circuit: diodes cannot attach to amplifier outputs; attach them to the neuron node")
        if len(self.cathode) != len(self) or len(self.anode) != len(self):
            raise GraphError("circuit: diode arrays differ in length")
        if len(self) and (self.model.min() < 0 or self.model.max() >= len(self.models)):
            raise GraphError("circuit: a diode refers to an unknown model")

    def links(self, circuit):
        return [(self.anode, self.cathode)]

    # -- physics --------------------------------------------------------------------------------
    def branch(self, v: np.ndarray, *, gmin: float = GMIN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Branch currents [A], conductances [S] and junction voltages [V] for branch voltages
        ``v`` (batch, n) (anode minus cathode terminal; series resistance included)."""
        i, g, vj = np.empty_like(v), np.empty_like(v), np.empty_like(v)
        for model, sel in self.groups():
            i[:, sel], g[:, sel], vj[:, sel] = branch_current(v[:, sel], model, gmin=gmin)
        return i, g, vj

    def currents(self, w: np.ndarray, *, gmin: float = GMIN) -> Branches:
        v = w[:, self.anode] - w[:, self.cathode]
        i, g, _ = self.branch(v, gmin=gmin)
        di = np.stack([np.stack([g, -g], -1), np.stack([-g, g], -1)], -2)
        return Branches(np.stack([self.anode, self.cathode], 1), np.stack([i, -i], -1), di)

    def cocontent(self, w: np.ndarray, *, gmin: float = GMIN) -> np.ndarray:
        v = w[:, self.anode] - w[:, self.cathode]
        i, _, vj = self.branch(v, gmin=gmin)
        out = np.zeros(v.shape[0])
        for model, sel in self.groups():
            out += np.sum(_junction_cocontent(vj[:, sel], model, gmin) + 0.5 * model.RS * i[:, sel] ** 2, axis=1)
        return out

    # -- netlist --------------------------------------------------------------------------------
    def write(self, deck) -> None:
        if not len(self):
            return
        deck.section("diodes: anode cathode model")
        self.refuse_folded_inputs(deck)
        term, names = deck.term, [m.name for m in self.models]
        deck.add(*[f"d{k} {term[a]} {term[b]} {names[m]}" for k, (a, b, m) in
                   enumerate(zip(self.anode.tolist(), self.cathode.tolist(), np.asarray(self.model).tolist()))])

    def model_cards(self) -> list[str]:
        seen: dict[str, str] = {}
        lines = []
        for m in self.models:
            check_model_name(m.name)
            if m.name.lower() in seen:
                raise NetlistError(f"diode models {seen[m.name.lower()]!r} and {m.name!r} differ only in case; "
                                   "ngspice would take them for one")
            seen[m.name.lower()] = m.name
            for key, value in m.extra:
                if not (isinstance(key, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key)):
                    raise NetlistError(f"diode model {m.name}: parameter name {key!r} is not letters, digits and '_'")
                format_number(value, f"diode model {m.name} parameter {key}")
            card = m.card()
            if not re.fullmatch(r"\.model [A-Za-z][A-Za-z0-9_]* D\([A-Za-z0-9_=.+\- ]*\)", card):
                raise NetlistError(f"diode model {m.name}: unexpected card text {card!r}")
            if m.ideal:
                lines.append(f"* @model {m.name} ideal=1")
            lines.append(card)
        return lines

    @classmethod
    def read(cls, reader) -> "Diodes":
        from dataclasses import replace

        cards = reader.model_text(("D",))
        model_map = parse_model_cards(cards, source="netlist") if cards else {}
        models = tuple(replace(m, ideal=True) if m.name.lower() in reader.ideal else m for m in model_map.values())
        lower = {m.name.lower(): i for i, m in enumerate(models)}
        diodes = [el for _, el in sorted(reader.by_prefix("d").items())]
        for el in diodes:
            if el.ref.lower() not in lower:
                raise reader.fail(el.line, f"diode {el.name} uses model {el.ref!r}, which has no .model card")
        return cls(anode=[reader.terminal(el.nodes[0]) for el in diodes],
                   cathode=[reader.terminal(el.nodes[1]) for el in diodes],
                   model=[lower[el.ref.lower()] for el in diodes], models=models)

    # -- power and hardware ---------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        """Dissipated in the branches (junction plus ``RS``), ``i V``: the branch current is
        solved from the terminal voltages, so it is exact for ngspice states too, whose
        internal diode nodes are not read back."""
        if not len(self):
            return {"diodes": np.zeros(pc.w.shape[0])}
        v = pc.w[:, self.anode] - pc.w[:, self.cathode]
        i, _, _ = self.branch(v)
        np.add.at(pc.out, (slice(None), self.anode), i)
        np.add.at(pc.out, (slice(None), self.cathode), -i)
        return {"diodes": np.sum(i * v, axis=1)}

    def hardware(self, cfg, rng) -> "Diodes":
        """Every diode given the hardware model's card (``cfg.diode``; None keeps them)."""
        name = getattr(cfg, "diode", None)
        if name is None or not len(self):
            return self
        return self.replace(models=(diode_model(name),), model=np.zeros(len(self), np.int64))

    def check_bcd(self, circuit) -> None:
        c = circuit
        kind_a, kind_c = c.terminal_kind(self.anode), c.terminal_kind(self.cathode)
        bad = (kind_a == 0) == (kind_c == 0)
        if np.any(bad):
            k = int(np.argmax(bad))
            what = "two free nodes" if kind_a[k] == 0 else "two fixed-voltage terminals"
            raise ConfigError(f"BCD: diode {k} joins {what} ({c.terminal_name(self.anode[k])}, "
                              f"{c.terminal_name(self.cathode[k])}); block coordinate descent needs every diode "
                              f"between a free node and a rail, source or ground (an ideal clamp); "
                              "use backend='numpy'")
