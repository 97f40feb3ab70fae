r"""MOSFETs: ngspice's level-1 (Shichman-Hodges) transistor, n- and p-channel, in both backends.

The law is ngspice 39's ``mos1load.c`` at DC, with the model's temperature equal to its
nominal one (27 degC) and no body effect. For an n-channel device (``type = +1``; a p-channel
one, ``type = -1``, has every voltage and current reversed), with ``v_ds = type (V_D - V_S)``:

* the drain is whichever terminal is higher (ngspice swaps them: ``mode = sign(v_ds)``), so the
  device is symmetric in source and drain; ``v_gst = v_gs - type VTO`` in normal mode,
  ``v_gd - type VTO`` in inverse mode, and ``v_de = |v_ds|``;
* ``beta = KP W / (L - 2 LD)``, ``beta' = beta (1 + LAMBDA v_de)``;
* cutoff (``v_gst <= 0``): ``I = 0``; saturation (``v_gst <= v_de``): ``I = beta' v_gst^2 / 2``;
  triode: ``I = beta' v_de (v_gst - v_de / 2)``, i.e. ``beta'/2 ((u_s)+^2 - (u_d)+^2)`` with
  ``u_s = V_G - V_S - VTO``, ``u_d = V_G - V_D - VTO`` (PHYSICS.md section 5);
* the channel current leaving the drain terminal is ``type mode I``;
* two bulk junctions (bulk-source, bulk-drain), ``v_bx = type (V_B - V_x)``:
  ``i = IS (exp(v / V_T) - 1) + gmin v`` for ``v > -3 V_T``, else ``gmin v - IS``
  (``V_T = k T / q``, ngspice's gmin 1e-12 S), carrying ``type i`` from the bulk into ``x``.

Left out (refused in a card, where they would change the DC operating point): the body
effect (``GAMMA``, and ``NSUB``, from which ngspice would derive it), series resistances
(``RD``, ``RS``, ``RSH``), temperatures other than the nominal one (``TNOM``), and levels
other than 1. Capacitances (``CGSO``, ``CGDO``, ``CGBO``, ``CBD``, ``CBS``, ``CJ``, ``MJ``,
``CJSW``, ``MJSW``, ``PB``, ``FC``, ``TOX``) and noise parameters matter only for AC and
transient runs: they are kept on the card for ngspice and ignored at DC, as are the
instance's ``AD``/``AS`` areas (never written, so ``IS`` is the junctions' saturation current).

**The table** (:class:`Mosfets`): terminals ``drain``, ``gate``, ``source``, ``bulk``; a gate
equal to :data:`OWN_GATE` is driven by a voltage source of the element's own at ``vg`` [V],
which is then a *parameter* (a trainable transistor edge: Dillavou et al., PNAS 2024), else it
is a terminal of the circuit (a diode-connected clamp has ``gate == drain``). ``width``, ``length``
[m] (the card's ``W``, ``L``); ``model`` indexes ``models`` (:class:`MosfetModel` cards); ``layer``: the learning-rate
layer of a trained gate (``-1``: fixed); ``vg_min``, ``vg_max`` [V]: the gate drive range
training clips to.

Cards: ``m<k> d g s b MODEL W=... L=...``, an own gate's source ``vg<k> gate<k> 0 VG``, and
one ``.model MODEL NMOS(LEVEL=1 VTO=... KP=... LAMBDA=... IS=...)`` per model.

**EqProp with a gate voltage as the parameter.** Transistors do not derive from an energy:
with the gate held, ``dI/dV_S != -dI/dV_D`` unless ``V_S = V_D``, so the Jacobian of the
nodal equations ``R(s, theta) = 0`` is not symmetric. EqProp's rule is the one of its vector-field
generalisation (Scellier et al. 2018): with the nudge entering as ``R + beta dC/ds = 0``, the
nudged state moves by ``ds/dbeta = -J^-1 dC/ds`` (``J = dR/ds``), and

    ``(1/beta) (s_beta - s_0)^T dR/dtheta  ->  -(dC/ds)^T J^-T dR/dtheta``,

which is the exact gradient ``dJ/dtheta = -(dC/ds)^T J^-1 dR/dtheta`` when ``J`` is symmetric
(for a conductance it is ``(1/beta) 1/2 (dV_beta^2 - dV_0^2)``, the usual rule) and an
approximation otherwise, whose error :func:`~analog_eqprop.eqprop.gradcheck.gradcheck` measures.
For a transistor edge ``dR/dV_G`` is ``g_m = dI_DS/dV_G`` in the drain's row and ``-g_m`` in
the source's, so the update of a gate voltage needs only the device's own quantities in the
two phases:

    ``dF(s_1) - dF(s_2)  :=  1/2 (g_m(s_1) + g_m(s_2)) (V_DS(s_1) - V_DS(s_2))``

(the trapezoid rule along the way from one state to the other). In the triode region
``g_m = beta' V_DS`` exactly (with ``LAMBDA = 0``), and this is ``beta/2 (V_DS1^2 - V_DS2^2)``:
a transistor in triode is a conductance ``beta (V_G - VTO - (V_D + V_S)/2)`` and learns like one.

Examples
--------
>>> m = MosfetModel("N1", "NMOS", VTO=0.5, KP=1e-4)
>>> t = Mosfets(drain=[0], gate=[OWN_GATE], source=[-1], bulk=[-1], vg=[1.5], width=[2e-6], length=[1e-6],
...             model=[0], models=(m,))
>>> w = np.array([[0.2, 0.0]])  # V_D, ground
>>> b = t.currents(w, gmin=0.0)
>>> round(float(b.i[0, 0, 0]), 12)  # triode: beta V_DS (V_GS - VTO - V_DS / 2) = 2e-4 * 0.2 * 0.9
3.6e-05
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from analog_eqprop.elements.base import GROUND, Branches, CardSpec, ElementTable, column
from analog_eqprop.elements.library import (
    GMIN,
    HARDWARE_MODELS_DIR,
    model_cards,
    read_library,
    resolve_model,
    thermal_voltage,
)
from analog_eqprop.errors import ConfigError, GraphError, NetlistError
from analog_eqprop.spice.names import check_model_name, format_number, unique_name

__all__ = ["MosfetModel", "Mosfets", "OWN_GATE", "mos1_current", "load_mosfet_models", "mosfet_model",
           "parse_mosfet_cards"]

#: A gate column entry meaning "driven by the element's own source at ``vg``".
OWN_GATE = -2
_MAX_EXP = 709.0  # ngspice's MAX_EXP_ARG
#: Card parameters the twin models at DC.
_DC = ("VTO", "KP", "LAMBDA", "IS", "LD")
#: Card parameters that change the DC operating point in ways the twin does not model.
_REFUSED = {"GAMMA": "the body effect", "NSUB": "the body effect (ngspice derives GAMMA from it)",
            "RD": "series resistance", "RS": "series resistance", "RSH": "series resistance",
            "TNOM": "a nominal temperature other than 27 degC", "TPG": "the gate type (with NSUB)",
            "NSS": "surface states (with NSUB)"}
#: Parameters that matter only for AC, transient or noise analyses (kept on the card).
_AC_ONLY = {"CGSO", "CGDO", "CGBO", "CBD", "CBS", "CJ", "MJ", "CJSW", "MJSW", "PB", "FC", "TOX", "UO", "KF", "AF",
            "PHI", "JS", "TT"}


@dataclass(frozen=True)
class MosfetModel:
    """A level-1 MOSFET model card.

    Parameters
    ----------
    name : str
        Card name (letters, digits, ``_``).
    type : {"NMOS", "PMOS"}
    VTO : float
        Zero-bias threshold voltage [V] (ngspice's sign convention: negative for an
        enhancement p-channel device).
    KP : float
        Transconductance parameter [A/V^2] (``beta = KP W / L_eff``).
    LAMBDA : float
        Channel-length modulation [1/V].
    IS : float
        Bulk junctions' saturation current [A].
    LD : float
        Lateral diffusion [m] (``L_eff = L - 2 LD``).
    extra : tuple of (str, float)
        AC / transient parameters, written to the card and ignored at DC.
    """

    name: str
    type: str = "NMOS"
    VTO: float = 0.0
    KP: float = 2e-5
    LAMBDA: float = 0.0
    IS: float = 1e-14
    LD: float = 0.0
    extra: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(self.name)):
            raise ConfigError(f"MOSFET model name {self.name!r} must be letters, digits and '_' (starting with a "
                              "letter)")
        if self.type not in ("NMOS", "PMOS"):
            raise ConfigError(f"MOSFET model {self.name}: type must be 'NMOS' or 'PMOS', got {self.type!r}")
        for key in ("VTO", "KP", "LAMBDA", "IS", "LD"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"MOSFET model {self.name}: {key} must be a finite number, got {v!r}")
        if not self.KP > 0:
            raise ConfigError(f"MOSFET model {self.name}: KP must be > 0 A/V^2, got {self.KP!r}")
        if self.LAMBDA < 0 or self.IS < 0 or self.LD < 0:
            raise ConfigError(f"MOSFET model {self.name}: LAMBDA, IS and LD must be >= 0")
        for key, value in self.extra:
            if key in _REFUSED or key in _DC or key == "LEVEL":
                raise ConfigError(f"MOSFET model {self.name}: {key} cannot be an extra parameter")
            if not math.isfinite(value):
                raise ConfigError(f"MOSFET model {self.name}: {key} must be finite, got {value!r}")

    @property
    def sign(self) -> float:
        """+1 for n-channel, -1 for p-channel (ngspice's ``MOS1type``)."""
        return 1.0 if self.type == "NMOS" else -1.0

    def card(self) -> str:
        """The ``.model`` line (values printed to read back exactly)."""
        parts = ["LEVEL=1"] + [f"{k}={format_number(getattr(self, k))}" for k in ("VTO", "KP", "LAMBDA", "IS")]
        if self.LD:
            parts.append(f"LD={format_number(self.LD)}")
        parts += [f"{k}={format_number(v)}" for k, v in self.extra]
        return f".model {self.name} {self.type}({' '.join(parts)})"

    @classmethod
    def from_params(cls, name: str, type_: str, params: list[tuple[str, float]], source: str = "card") -> "MosfetModel":
        """A model from a card's ``(KEY, value)`` pairs; ConfigError for what the twin cannot model."""
        kw: dict = {}
        extra = []
        for key, value in params:
            if key == "LEVEL":
                if value != 1:
                    raise ConfigError(f"{source}: MOSFET model {name} is LEVEL={value:g}; only level 1 is modelled")
            elif key in _REFUSED:
                if value != 0 or key in ("NSUB", "TNOM", "TPG", "NSS"):
                    raise ConfigError(f"{source}: MOSFET model {name} sets {key}={value:g} ({_REFUSED[key]}), which "
                                      "the NumPy twin does not model; remove it")
            elif key in _DC:
                kw[key] = float(value)
            elif key in _AC_ONLY:
                extra.append((key, float(value)))
            else:
                raise ConfigError(f"{source}: MOSFET model {name}: unknown level-1 parameter {key}")
        return cls(name, type_, extra=tuple(extra), **kw)


def parse_mosfet_cards(text: str, *, source: str = "<text>") -> dict[str, MosfetModel]:
    """``.model NAME NMOS|PMOS (...)`` cards from SPICE library text."""
    models: dict[str, MosfetModel] = {}
    for name, type_, params in model_cards(text, ("NMOS", "PMOS")):
        if name in models:
            raise NetlistError(f"{source}: MOSFET model {name} defined twice")
        models[name] = MosfetModel.from_params(name, type_, params, source)
    return models


def load_mosfet_models(path: str | Path | None = None) -> dict[str, MosfetModel]:
    """MOSFET models from a ``.lib`` file (default: the shipped ``hardware_models/mosfets.lib``).

    Examples
    --------
    >>> sorted(load_mosfet_models())
    ['NCLAMP', 'NEDGE', 'PCLAMP', 'PEDGE']
    """
    path = Path(path) if path else HARDWARE_MODELS_DIR / "mosfets.lib"
    return parse_mosfet_cards(read_library(path, "MOSFET model"), source=str(path))


def mosfet_model(spec: str | Path | MosfetModel, models: dict[str, MosfetModel] | None = None) -> MosfetModel:
    """A MOSFET model from a card name (``hardware_models/mosfets.lib``), ``FILE.lib:NAME`` or
    ``FILE.lib`` (one card), or a model passed through."""
    if isinstance(spec, MosfetModel):
        return spec
    return resolve_model(spec, load_mosfet_models, "MOSFET model", models)


def is_mosfet_card(spec) -> bool:
    """Whether ``spec`` names a MOSFET card (a :class:`MosfetModel`, or a card name of the
    shipped ``mosfets.lib``)."""
    if isinstance(spec, MosfetModel):
        return True
    return isinstance(spec, str) and spec in load_mosfet_models()


def _junction(v: np.ndarray, IS: np.ndarray, vt: float, gmin: float) -> tuple[np.ndarray, np.ndarray]:
    """A bulk junction's current [A] and conductance [S] (``mos1load.c``)."""
    ev = np.exp(np.minimum(v / vt, _MAX_EXP))
    fwd = v > -3 * vt
    i = np.where(fwd, IS * (ev - 1) + gmin * v, gmin * v - IS)
    g = np.where(fwd, IS * ev / vt + gmin, gmin)
    return i, g


def mos1_current(vgs: np.ndarray, vds: np.ndarray, beta: np.ndarray, von: np.ndarray,
                 lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ngspice's level-1 channel in its own frame (voltages already times ``type``):
    ``(mode, cdrain, gm, gds)`` -- the current [A] flows drain to source in normal mode
    (``v_ds >= 0``), source to drain in inverse mode; ``gm = dI/dv_gst``, ``gds = dI/dv_de``."""
    mode = np.where(vds >= 0, 1.0, -1.0)
    vde = np.abs(vds)
    vgst = np.where(vds >= 0, vgs, vgs - vds) - von
    on = vgst > 0
    betap = beta * (1 + lam * vde)
    sat = vgst <= vde
    cd_sat, gm_sat, gds_sat = betap * vgst * vgst * 0.5, betap * vgst, lam * beta * vgst * vgst * 0.5
    cd_lin = betap * vde * (vgst - 0.5 * vde)
    gm_lin = betap * vde
    gds_lin = betap * (vgst - vde) + lam * beta * vde * (vgst - 0.5 * vde)
    cd = np.where(on, np.where(sat, cd_sat, cd_lin), 0.0)
    gm = np.where(on, np.where(sat, gm_sat, gm_lin), 0.0)
    gds = np.where(on, np.where(sat, gds_sat, gds_lin), 0.0)
    return mode, cd, gm, gds


@dataclass(frozen=True, eq=False)
class Mosfets(ElementTable):
    """MOSFETs (see the module docstring for the columns)."""

    drain: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    gate: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    source: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bulk: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    vg: np.ndarray = field(default_factory=lambda: np.zeros(0))
    width: np.ndarray = field(default_factory=lambda: np.zeros(0))
    length: np.ndarray = field(default_factory=lambda: np.zeros(0))
    model: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    layer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    models: tuple[MosfetModel, ...] = ()
    vg_min: float = -5.0
    vg_max: float = 5.0

    kind: ClassVar[str] = "mosfet"
    noun: ClassVar[str] = "transistor"
    card_model: ClassVar[type | None] = MosfetModel
    terminals: ClassVar[tuple[str, ...]] = ("drain", "gate", "source", "bulk")
    linear: ClassVar[bool] = False
    trainable: ClassVar[str | None] = "vg"
    param_prefix: ClassVar[str] = "vg"
    cards: ClassVar[dict[str, CardSpec]] = {"m": CardSpec(4, "model and params"),
                                            "vg": CardSpec(2, "value", helper=True)}
    meta: ClassVar[tuple[str, ...]] = ("mosfets",)

    def __post_init__(self) -> None:
        for name in ("drain", "gate", "source", "bulk", "model"):
            object.__setattr__(self, name, column(getattr(self, name), np.int64))
        n = len(self.drain)
        if len(self.layer) == 0:
            object.__setattr__(self, "layer", np.full(n, -1))
        if len(self.vg) == 0:
            object.__setattr__(self, "vg", np.zeros(n))
        object.__setattr__(self, "layer", column(self.layer, np.int64))
        for name in ("vg", "width", "length"):
            object.__setattr__(self, name, column(getattr(self, name), np.float64))
        object.__setattr__(self, "models", tuple(self.models))

    def __len__(self) -> int:
        return len(self.drain)

    # -- per element ------------------------------------------------------------------------------
    @property
    def own_gate(self) -> np.ndarray:
        """Per transistor: whether its gate is driven by its own source at ``vg``."""
        return self.gate == OWN_GATE

    @property
    def n_layers(self) -> int:
        """Learning-rate layers of trained gates."""
        return int(self.layer.max(initial=-1)) + 1

    def _per_model(self, attr: str) -> np.ndarray:
        vals = np.array([getattr(m, attr) for m in self.models], dtype=np.float64)
        return vals[self.model] if len(self) else np.zeros(0)

    @property
    def sign(self) -> np.ndarray:
        return self._per_model("sign")

    @property
    def beta(self) -> np.ndarray:
        """``KP W / (L - 2 LD)`` [A/V^2] per transistor."""
        return self._per_model("KP") * self.width / (self.length - 2 * self._per_model("LD"))

    # -- validation -----------------------------------------------------------------------------
    def check(self, circuit) -> None:
        n, nt = len(self), circuit.n_terminals
        cols = ("gate", "source", "bulk", "vg", "width", "length", "model", "layer")
        if any(len(getattr(self, c)) != n for c in cols):
            raise GraphError("circuit: transistor arrays differ in length")
        for name in self.terminals:
            t = getattr(self, name)
            low = OWN_GATE if name == "gate" else GROUND
            if n and (t.min() < low or t.max() >= nt):
                raise GraphError(f"circuit: a transistor {name} terminal index is out of range")
        if n and (self.model.min() < 0 or self.model.max() >= len(self.models)):
            raise GraphError("circuit: a transistor refers to an unknown model")
        for name, unit in (("vg", "V"), ("width", "m"), ("length", "m")):
            a = getattr(self, name)
            if not np.all(np.isfinite(a)):
                k = int(np.argmax(~np.isfinite(a)))
                raise GraphError(f"circuit: transistor {k} has {name} = {a[k]!r} {unit}; it must be finite")
        bad = (self.width <= 0) | (self.length - 2 * self._per_model("LD") <= 0)
        if n and np.any(bad):
            k = int(np.argmax(bad))
            raise GraphError(f"circuit: transistor {k} has W = {self.width[k]!r} m, L = {self.length[k]!r} m; W and "
                             "the effective length L - 2 LD must be > 0")
        if np.any(self.drain == self.source):
            k = int(np.argmax(self.drain == self.source))
            raise GraphError(f"circuit: transistor {k} has its drain and source on "
                             f"{circuit.terminal_name(self.drain[k])}")
        if np.any((self.layer >= 0) & ~self.own_gate):
            k = int(np.argmax((self.layer >= 0) & ~self.own_gate))
            raise GraphError(f"circuit: transistor {k} is trained (layer {self.layer[k]}) but its gate is a terminal "
                             "of the circuit; only a gate driven by its own source (vg) can be a parameter")
        if self.layer.size and self.layer.min() < -1:
            raise GraphError("circuit: transistor layers must be >= -1 (-1: not trained)")
        if not (np.isfinite(self.vg_min) and np.isfinite(self.vg_max) and self.vg_min < self.vg_max):
            raise GraphError(f"circuit: need vg_min < vg_max (finite), got {self.vg_min!r}, {self.vg_max!r} V")

    def links(self, circuit):
        return [(self.drain, self.source), (self.drain, self.bulk), (self.source, self.bulk)]

    # -- physics --------------------------------------------------------------------------------
    def gate_voltages(self, w: np.ndarray) -> np.ndarray:
        """``V_G`` [V] per example and transistor: ``vg`` for own gates, else the terminal's."""
        own = self.own_gate
        return np.where(own, self.vg, w[:, np.where(own, GROUND, self.gate)])

    def channel(self, w: np.ndarray):
        """``(I_ch, dI/dV_D, dI/dV_G, dI/dV_S)``: the channel current [A] leaving the drain
        terminal (through the channel to the source) and its derivatives [S], ``(batch, n)`` each."""
        t = self.sign
        vd, vs = w[:, self.drain], w[:, self.source]
        vgs, vds = t * (self.gate_voltages(w) - vs), t * (vd - vs)
        von = t * self._per_model("VTO")
        mode, cd, gm, gds = mos1_current(vgs, vds, self.beta, von, self._per_model("LAMBDA"))
        i = t * mode * cd
        normal = mode > 0
        d_d = np.where(normal, gds, gm + gds)
        d_g = np.where(normal, gm, -gm)
        d_s = np.where(normal, -(gm + gds), -gds)
        return i, d_d, d_g, d_s

    def currents(self, w: np.ndarray, *, gmin: float = GMIN) -> Branches:
        """Currents leaving drain, gate, source and bulk into the device, and the Jacobian
        (terminal order D, G, S, B; an own gate appears as ground: its voltage is no unknown)."""
        t = self.sign
        i_ch, d_d, d_g, d_s = self.channel(w)
        vt = thermal_voltage()
        IS = self._per_model("IS")
        vb = w[:, self.bulk]
        cbs, gbs = _junction(t * (vb - w[:, self.source]), IS, vt, gmin)
        cbd, gbd = _junction(t * (vb - w[:, self.drain]), IS, vt, gmin)
        z = np.zeros_like(i_ch)
        i = np.stack([i_ch - t * cbd, z, -i_ch - t * cbs, t * (cbs + cbd)], -1)
        rows = [
            [d_d + gbd, d_g, d_s, -gbd],
            [z, z, z, z],
            [-d_d, -d_g, -d_s + gbs, -gbs],
            [-gbd, z, -gbs, gbs + gbd],
        ]
        di = np.stack([np.stack(r, -1) for r in rows], -2)
        terms = np.stack([self.drain, np.where(self.own_gate, GROUND, self.gate), self.source, self.bulk], 1)
        return Branches(terms, i, di)

    def junctions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The bulk-source and bulk-drain junctions (anode on the bulk for an n-channel device)."""
        n_ch = self.sign > 0
        a = np.concatenate([np.where(n_ch, self.bulk, self.source), np.where(n_ch, self.bulk, self.drain)])
        k = np.concatenate([np.where(n_ch, self.source, self.bulk), np.where(n_ch, self.drain, self.bulk)])
        return a, k, np.full(a.size, thermal_voltage())

    def param_derivative(self, w: np.ndarray) -> np.ndarray:
        """``d i / d V_G`` of the drain, gate, source and bulk currents: ``(g_m, 0, -g_m, 0)`` for
        an own gate (zero for a gate that is a terminal: no parameter)."""
        _, _, d_g, _ = self.channel(w)
        d_g = np.where(self.own_gate, d_g, 0.0)
        z = np.zeros_like(d_g)
        return np.stack([d_g, z, -d_g, z], -1)

    def param_grad_diff(self, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
        """The EqProp local quantity of each gate (module docstring), batch mean:
        ``1/2 (g_m(s1) + g_m(s2)) (V_DS(s1) - V_DS(s2))`` [A], ``(n,)``."""
        _, _, gm1, _ = self.channel(w1)
        _, _, gm2, _ = self.channel(w2)
        vds1 = w1[:, self.drain] - w1[:, self.source]
        vds2 = w2[:, self.drain] - w2[:, self.source]
        return np.where(self.own_gate, np.mean(0.5 * (gm1 + gm2) * (vds1 - vds2), axis=0), 0.0)

    def bounds(self) -> tuple[float, float]:
        return self.vg_min, self.vg_max

    # -- netlist --------------------------------------------------------------------------------
    def write(self, deck) -> None:
        if not len(self):
            return
        self.refuse_folded_inputs(deck)
        deck.section("transistors (ngspice level 1): m<k> drain gate source bulk model, W and L [m], a gate driven",
                     "by its own source vg<k> at the gate voltage [V] (a trainable transistor edge)")
        deck.add(f"* @mosfets vg_min={format_number(self.vg_min)} vg_max={format_number(self.vg_max)}")
        layer = None
        for k in range(len(self)):
            if self.layer[k] != layer:
                layer = int(self.layer[k])
                deck.add(f"* @mosfets layer={layer}")
            if self.own_gate[k]:
                gate = unique_name(f"gate{k}", deck.taken)
                deck.add(f"vg{k} {gate} 0 {format_number(self.vg[k], f'transistor {k} gate voltage')}")
            else:
                gate = deck.name(self.gate[k])
            deck.add(f"m{k} {deck.name(self.drain[k])} {gate} {deck.name(self.source[k])} {deck.name(self.bulk[k])} "
                     f"{self.models[self.model[k]].name} W={format_number(self.width[k], f'transistor {k} W')} "
                     f"L={format_number(self.length[k], f'transistor {k} L')}")

    def model_cards(self) -> list[str]:
        seen: dict[str, str] = {}
        for m in self.models:
            check_model_name(m.name, "MOSFET model")
            if m.name.lower() in seen:
                raise NetlistError(f"MOSFET models {seen[m.name.lower()]!r} and {m.name!r} differ only in case; "
                                   "ngspice would take them for one")
            seen[m.name.lower()] = m.name
        return [m.card() for m in self.models]

    @classmethod
    def read(cls, reader) -> "Mosfets":
        try:
            cards = parse_mosfet_cards(reader.model_text(("NMOS", "PMOS")), source="netlist")
        except ConfigError as exc:
            raise NetlistError(str(exc)) from None
        models = tuple(cards.values())
        lower = {m.name.lower(): i for i, m in enumerate(models)}
        meta = reader.meta("mosfets")
        rng = {}
        marks = []  # (line, layer) of each @mosfets layer= line
        for line, args in meta:
            kv = dict(a.split("=", 1) for a in args if "=" in a)
            if "layer" in kv:
                marks.append((line, int(float(kv["layer"]))))
            else:
                rng = {k: float(v) for k, v in kv.items() if k in ("vg_min", "vg_max")}
        vgs = reader.by_prefix("vg")
        rows = {k: [] for k in ("drain", "gate", "source", "bulk", "vg", "width", "length", "model", "layer")}
        for k, el in sorted(reader.by_prefix("m").items()):
            if el.ref.lower() not in lower:
                raise reader.fail(el.line, f"transistor {el.name} uses model {el.ref!r}, which has no .model card")
            params = dict(el.params)
            if set(params) != {"w", "l"}:
                raise reader.fail(el.line, f"transistor {el.name} needs W= and L= (and nothing else), got "
                                           f"{sorted(params)}")
            gate_src = vgs.get(k)
            own = gate_src is not None and gate_src.nodes[0] == el.nodes[1]
            if own and gate_src.nodes[1] != "0":
                raise reader.fail(gate_src.line, f"vg{k} must connect the gate of m{k} to 0")
            layer = next((lay for line, lay in reversed(marks) if line < el.line), -1)
            rows["drain"].append(reader.terminal(el.nodes[0]))
            rows["gate"].append(OWN_GATE if own else reader.terminal(el.nodes[1]))
            rows["source"].append(reader.terminal(el.nodes[2]))
            rows["bulk"].append(reader.terminal(el.nodes[3]))
            rows["vg"].append(gate_src.value if own else 0.0)
            rows["width"].append(params["w"])
            rows["length"].append(params["l"])
            rows["model"].append(lower[el.ref.lower()])
            rows["layer"].append(layer)
        extra = set(vgs) - set(reader.by_prefix("m"))
        if extra:
            raise reader.fail(vgs[min(extra)].line, f"vg{min(extra)} drives no transistor gate")
        return cls(models=models, **rows, **rng)

    # -- power ----------------------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        """Dissipated in the channels and bulk junctions (``sum_x i_x V_x`` over the terminals:
        the gate draws no current, so its source delivers nothing)."""
        if not len(self):
            return {}
        b = self.currents(pc.w)
        term = b.terms
        v = pc.w[:, term]  # (batch, n, 4); an own gate reads ground, and carries no current
        for j in range(4):
            np.add.at(pc.out, (slice(None), term[:, j]), b.i[:, :, j])
        return {"transistors": np.sum(b.i * v, axis=(1, 2))}

