"""The NumPy system of a circuit: nodal equations with sources folded in (Norton), batch-first.

Unknowns ``u`` are the free-node voltages followed by one internal node per diode with a
series resistance (as ngspice builds it). Input and bias sources are ideal, so they are
eliminated exactly: a conductance ``g`` from a free node to a source at ``V_s`` becomes ``g``
to ground plus an injected current ``g V_s`` (Norton). Amplified copies ``A V(j)`` are
eliminated too: a conductance between the copy and node ``k`` stamps ``g`` and ``-g A`` into
row ``k`` and, through the CCCS of gain ``c``, ``c g A`` and ``-c g`` into row ``j``; an
amplifier offset ``V_os`` adds the constant ``g A V_os`` to those rows' currents
(:meth:`MNASystem.offset_drive`).

Kirchhoff's current law is ``R(u) = G u - b(x) + i_D(u) = 0`` with ``G`` the (possibly
non-symmetric, with amplifiers) linear conductance matrix, ``b`` the Norton currents of the
sources (and the nudge), and ``i_D`` the diode junction currents.

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> sysm = MNASystem(c)
>>> G = sysm.conductance_matrix(c.edge_g)
>>> G.shape, bool(np.allclose(G, G.T))
((4, 4), True)
"""

from __future__ import annotations

import numpy as np

from analog_eqprop.circuits.description import GROUND, Circuit
from analog_eqprop.elements.diode import diode_current

__all__ = ["MNASystem"]


class MNASystem:
    """Index arrays that turn (conductances, inputs, nudge) into the nodal equations.

    Built once per circuit; every method is vectorised over the batch and over elements.
    """

    def __init__(self, circuit: Circuit):
        c = self.circuit = circuit
        nf, ns = c.n_free, c.n_sources
        rs = np.array([c.models[m].RS for m in c.diode_model], dtype=float)
        self.has_rs = rs > 0
        self.n_internal = int(self.has_rs.sum())
        self.n = nf + self.n_internal
        internal = np.full(c.n_diodes, -1)
        internal[self.has_rs] = nf + np.arange(self.n_internal)

        # Per terminal: KCL row p (-1: none), reflection r, voltage unknown q (-1: none), factor m,
        # source s, constant part cst (amplifier offsets A V_os): free nodes, then what each
        # terminal-owning kind (sources, amplified copies) says of its own (TerminalMap).
        nt = c.n_terminals
        p = np.full(nt + 1, -1)
        q = np.full(nt + 1, -1)
        r = np.zeros(nt + 1)
        m = np.zeros(nt + 1)
        s = np.full(nt + 1, -1)
        cst = np.zeros(nt + 1)
        p[:nf] = q[:nf] = np.arange(nf)
        r[:nf] = m[:nf] = 1.0
        for table in c.tables():
            if table.owns_terminals and len(table):
                first = c.terminal_offset(table.kind)
                sl = slice(first, first + len(table))
                tm = table.terminal_map(c)
                p[sl], r[sl], q[sl], m[sl], s[sl], cst[sl] = tm.p, tm.r, tm.q, tm.m, tm.s, tm.const
        self.terminal_map = (p, r, q, m, s, cst)
        self._stamp_arrays: dict[str, np.ndarray] | None = None  # built on first use (lazy_stamps)
        #: whether amplifier offsets add a constant (conductance-dependent) drive
        self.has_offsets = bool(np.any(cst != 0.0)) and bool(self._stamps()["o_rows"].size)
        self._general = self._general_plan()

        # Diodes: junction from anode' (internal node when RS > 0) to cathode, in "extended"
        # coordinates w = [u (n), V_src (ns), 0 (ground)].
        def ext(t: np.ndarray) -> np.ndarray:
            kind = c.terminal_kind(t)
            out = np.where(kind == 0, t, np.where(kind == 1, self.n + (t - nf), self.n + ns))
            return out.astype(np.int64)

        anode = ext(c.diode_anode)
        self.d_anode_term = anode  # outer terminal, where RS attaches
        self.d_anode = np.where(self.has_rs, internal, anode)
        self.d_cathode = ext(c.diode_cathode)
        self.d_rs = rs
        self.d_internal = internal
        self.models = c.models
        self.d_model = c.diode_model
        self._rs_cache = None

    # -- stamps (lazy: block coordinate descent reads none of them) --------------------------
    def _stamps(self) -> dict[str, np.ndarray]:
        """Per conductance and end, where ``g`` enters the nodal equations: ``G`` (rows, cols,
        edges, coefficients), the drive ``D`` and the amplifier offsets. Built on first use:
        several index arrays per conductance (gigabytes for a net of tens of millions of
        conductances, whose dense ``G`` no solver could factor anyway), which solvers that
        work per layer (:mod:`~analog_eqprop.solvers.bcd`) never ask for."""
        if self._stamp_arrays is not None:
            return self._stamp_arrays
        c = self.circuit
        p, r, q, m, s, cst = self.terminal_map
        # index -1 (ground) maps to the extra last slot, which is all "none".
        a, b = c.edge_a, c.edge_b
        rows, cols, edges, coefs = [], [], [], []
        d_rows, d_src, d_edges, d_coefs = [], [], [], []
        o_rows, o_edges, o_coefs = [], [], []
        e_idx = np.arange(c.n_edges)
        for (t1, t2, sign) in ((a, b, 1.0), (b, a, 1.0)):
            # row p[t1] gets r1 * g * (m1 V_q1 - m2 V_q2 + const1 - const2)
            has_row = p[t1] >= 0
            for (tv, vs) in ((t1, 1.0), (t2, -1.0)):
                ok = has_row & (q[tv] >= 0)
                rows.append(p[t1][ok]); cols.append(q[tv][ok]); edges.append(e_idx[ok])  # noqa: E702
                coefs.append(sign * vs * r[t1][ok] * m[tv][ok])
                oks = has_row & (s[tv] >= 0)
                # constant part moves to the right-hand side: b -= r1 g (+-V_s)
                d_rows.append(p[t1][oks]); d_src.append(s[tv][oks]); d_edges.append(e_idx[oks])  # noqa: E702
                d_coefs.append(-sign * vs * r[t1][oks])
                okc = has_row & (cst[tv] != 0.0)  # an offset copy: b -= r1 g (+-A V_os)
                o_rows.append(p[t1][okc]); o_edges.append(e_idx[okc])  # noqa: E702
                o_coefs.append(-sign * vs * r[t1][okc] * cst[tv][okc])
        cat = np.concatenate
        self._stamp_arrays = dict(
            g_rows=cat(rows), g_cols=cat(cols), g_edge=cat(edges), g_coef=cat(coefs), d_rows=cat(d_rows),
            d_src=cat(d_src), d_edge=cat(d_edges), d_coef=cat(d_coefs), o_rows=cat(o_rows), o_edge=cat(o_edges),
            o_coef=cat(o_coefs))
        return self._stamp_arrays

    @property
    def g_rows(self) -> np.ndarray:
        """KCL row of every stamp of ``G`` (with :attr:`g_cols`, :attr:`g_edge`, :attr:`g_coef`:
        ``G[row, col] += coef * g[edge]``)."""
        return self._stamps()["g_rows"]

    @property
    def g_cols(self) -> np.ndarray:
        return self._stamps()["g_cols"]

    @property
    def g_edge(self) -> np.ndarray:
        return self._stamps()["g_edge"]

    @property
    def g_coef(self) -> np.ndarray:
        return self._stamps()["g_coef"]

    @property
    def _rs_sys(self):
        if self._rs_cache is None:
            self._rs_cache = self._rs_stamps()
        return self._rs_cache

    # -- linear part ----------------------------------------------------------------------
    def _rs_stamps(self):
        """Fixed stamps of the diodes' series resistances: (G_rs (n, n), D_rs (ns, n))."""
        c = self.circuit
        n, ns = self.n, c.n_sources
        G = np.zeros((n, n))
        D = np.zeros((ns, n))
        for k in np.flatnonzero(self.has_rs):
            g = 1.0 / self.d_rs[k]
            i, a = self.d_internal[k], self.d_anode_term[k]
            G[i, i] += g
            if a < n:
                G[a, a] += g
                G[a, i] -= g
                G[i, a] -= g
            elif a < n + ns:
                D[a - n, i] += g
        return G, D

    def conductance_matrix(self, g: np.ndarray) -> np.ndarray:
        """Linear conductance matrix ``G`` [S], ``(n, n)``, for conductances ``g`` [S]."""
        n = self.n
        vals = g[self.g_edge] * self.g_coef
        G = np.bincount(self.g_rows * n + self.g_cols, weights=vals, minlength=n * n).reshape(n, n)
        return G + self._rs_sys[0]

    def drive_matrix(self, g: np.ndarray) -> np.ndarray:
        """``D`` [S], ``(n_sources, n)``: the Norton currents are ``b = V_src @ D``."""
        ns, n = self.circuit.n_sources, self.n
        st = self._stamps()
        vals = g[st["d_edge"]] * st["d_coef"]
        D = np.bincount(st["d_src"] * n + st["d_rows"], weights=vals, minlength=ns * n).reshape(ns, n)
        return D + self._rs_sys[1]

    def offset_drive(self, g: np.ndarray) -> np.ndarray:
        """Constant currents [A], ``(n,)``, from the amplifiers' offsets (zero without offsets)."""
        st = self._stamps()
        return np.bincount(st["o_rows"], weights=g[st["o_edge"]] * st["o_coef"], minlength=self.n)

    def source_drive(self, g: np.ndarray, v_src: np.ndarray) -> np.ndarray:
        """Norton currents of the sources (and amplifier offsets) [A], ``(batch, n)``."""
        b = v_src @ self.drive_matrix(g)
        return b + self.offset_drive(g) if self.has_offsets else b

    # -- nudging --------------------------------------------------------------------------
    def nudge_terms(self, beta: float, target_v: np.ndarray, ref: np.ndarray | None, loss_grad=None):
        """Extra ``(dG (n, n) or None, db (batch, n))`` of the nudged phase.

        ``current`` mode injects ``-beta dC/dV`` evaluated at ``ref`` (the free state);
        ``resistive`` mode adds a conductance ``beta`` towards the target (``F = E + beta C``).
        ``loss_grad(out, target_v)`` gives dC/d(out) (default: squared error ``out - t``).
        """
        return self.circuit.element("nudge").stamps(self.n, beta, target_v, ref, loss_grad)

    # -- diodes ---------------------------------------------------------------------------
    def extended(self, u: np.ndarray, v_src: np.ndarray) -> np.ndarray:
        """``[u, V_src, 0]`` so that any terminal's voltage is one column lookup."""
        return np.concatenate([u, v_src, np.zeros((u.shape[0], 1))], axis=1)

    def diode_currents(self, w: np.ndarray, *, gmin: float, reltol: float = 1e-3):
        """Junction voltages, currents and conductances, each ``(batch, n_diodes)``."""
        vd = w[:, self.d_anode] - w[:, self.d_cathode]
        idd = np.empty_like(vd)
        gd = np.empty_like(vd)
        for k, model in enumerate(self.models):
            sel = self.d_model == k
            idd[:, sel], gd[:, sel] = diode_current(vd[:, sel], model, gmin=gmin, reltol=reltol)
        return vd, idd, gd

    def scatter_diodes(self, idd: np.ndarray, gd: np.ndarray, r: np.ndarray, J: np.ndarray) -> None:
        """Add diode currents to the residual ``r`` and conductances to the Jacobian ``J`` (in place)."""
        n = self.n
        a, k = self.d_anode, self.d_cathode
        ai, ki = a < n, k < n
        Bi = np.arange(r.shape[0])[:, None]
        np.add.at(r, (slice(None), a[ai]), idd[:, ai])
        np.add.at(r, (slice(None), k[ki]), -idd[:, ki])
        np.add.at(J, (Bi, a[ai][None, :], a[ai][None, :]), gd[:, ai])
        np.add.at(J, (Bi, k[ki][None, :], k[ki][None, :]), gd[:, ki])
        both = ai & ki
        np.add.at(J, (Bi, a[both][None, :], k[both][None, :]), -gd[:, both])
        np.add.at(J, (Bi, k[both][None, :], a[both][None, :]), -gd[:, both])

    # -- other nonlinear kinds (transistors, users' devices...) ------------------------------
    def _general_plan(self) -> list[tuple]:
        """Per nonlinear kind but the diodes (which the solvers treat specially, series
        resistance and all): where each element's terminal currents and Jacobian entries go."""
        c = self.circuit
        p, r, q, m = self.terminal_map[:4]
        n = self.n
        plans = []
        for table in c.tables(nonempty=True):
            if table.linear or table.kind == "diode":
                continue
            terms = table.currents(np.zeros((1, c.n_terminals + 1))).terms  # (n_el, k); own gates read ground
            k = terms.shape[1]
            e, j = np.nonzero(p[terms] >= 0)
            res = (e, j, p[terms[e, j]], r[terms[e, j]])
            e2, j2, l2 = np.nonzero((p[terms] >= 0)[:, :, None] & (q[terms] >= 0)[:, None, :])
            jac = (e2, j2, l2, p[terms[e2, j2]] * n + q[terms[e2, l2]], r[terms[e2, j2]] * m[terms[e2, l2]])
            plans.append((table.kind, k, res, jac))
        return plans

    def general_junctions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pn junctions of the nonlinear kinds other than diodes, as (anode, cathode) indices
        into the extended unknowns ``[u, V_src, 0]`` and their ``n V_T`` [V] (for limiting)."""
        c = self.circuit
        ns = c.n_sources
        parts = [t.junctions() for t in c.tables(nonempty=True) if not t.linear and t.kind != "diode"]
        if not parts:
            z = np.zeros(0, np.int64)
            return z, z, np.zeros(0)
        a, k, vte = (np.concatenate(x) for x in zip(*parts))

        def ext(t):
            kind = c.terminal_kind(t)
            if np.any(kind >= 2):
                raise NotImplementedError("a junction on an amplified copy")
            return np.where(kind == 0, t, np.where(kind == 1, self.n + (t - c.n_free), self.n + ns)).astype(np.int64)

        return ext(a), ext(k), vte

    @property
    def general(self) -> bool:
        """Whether the circuit has nonlinear elements other than diodes."""
        return bool(self._general)

    @property
    def nonlinear(self) -> bool:
        return self.circuit.n_diodes > 0 or self.general

    def general_stamps(self, u: np.ndarray, v_src: np.ndarray, *, gmin: float, values=None, jac: bool = True):
        """KCL residual ``(batch, n)`` [A] and Jacobian ``(batch, n, n)`` [S] (None without
        ``jac``) of the nonlinear kinds other than diodes, at unknowns ``u`` (free nodes first),
        with the trainable columns in ``values`` (``{kind: array}``; default the circuit's)."""
        c = self.circuit
        B, n = u.shape[0], self.n
        w = c.terminal_voltages(u[:, : c.n_free], v_src)
        res = np.zeros((B, n))
        J = np.zeros((B, n * n)) if jac else None
        for kind, _, (e, j, rows, coef), (e2, j2, l2, flat, coef2) in self._general:
            table = c.element(kind)
            if values and kind in values:
                table = table.replace(**{table.trainable: values[kind]})
            b = table.currents(w, gmin=gmin)
            np.add.at(res, (slice(None), rows), b.i[:, e, j] * coef)
            if jac:
                np.add.at(J, (slice(None), flat), b.di[:, e2, j2, l2] * coef2)
        return res, None if J is None else J.reshape(B, n, n)

    # -- EqProp ---------------------------------------------------------------------------
    def edge_drops(self, u: np.ndarray, v_src: np.ndarray) -> np.ndarray:
        """Voltage across every conductance [V], ``(batch, n_edges)``."""
        c = self.circuit
        return c.edge_drops(c.terminal_voltages(u[:, : c.n_free], v_src))

    def kcl_columns(self):
        """Per edge, its KCL rows and reflections: ``(p_a, r_a, p_b, r_b)`` (-1: no row).

        ``dR/dg_e = r_a dV_e`` in row ``p_a`` and ``-r_b dV_e`` in row ``p_b``; used by the
        implicit gradient.
        """
        c = self.circuit
        p, r = self.terminal_map[0], self.terminal_map[1]
        a, b = c.edge_a, c.edge_b
        return p[a], np.where(p[a] >= 0, r[a], 0.0), p[b], np.where(p[b] >= 0, r[b], 0.0)

    @property
    def ground(self) -> int:
        return GROUND
