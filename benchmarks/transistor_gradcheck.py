"""How far EqProp's update is from the exact gradient on transistor networks, over beta (issue 14).

A transistor with its gate held is not a gradient element (the nodal Jacobian is not
symmetric), so EqProp's estimate ``(1/beta) (s_beta - s_0)^T dR/dtheta`` does not tend to the
gradient ``dJ/dtheta`` as beta -> 0 but to ``-(dC/ds)^T J^-T dR/dtheta`` instead of
``-(dC/ds)^T J^-1 dR/dtheta`` (analog_eqprop/elements/mosfet.py). This script measures the gap,
as ``analog-eqprop gradcheck`` does for the non-reciprocal amplifiers: cosine and relative error
of EqProp's gradient (centered and one-sided) against the implicit gradient (itself checked
against central finite differences), over beta, on

* ``transistor_circuit`` nets (every edge a transistor, gate voltages the parameters, hidden
  nodes clamped by diode-connected transistors), at their initial gates and after training;
* the same nets with conductance edges and DIDEAL clamps (a reciprocal control: the gap closes);
* a net of users' tanh-like devices (two-terminal: reciprocal, the gap closes).

    python benchmarks/transistor_gradcheck.py            # ~1 min
    python benchmarks/transistor_gradcheck.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

BETAS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


def _nets(seed: int):

    from analog_eqprop.circuits import circuit_from_graph, circuit_graph, drn_circuit, transistor_circuit
    from analog_eqprop.elements import DeviceLaw
    from analog_eqprop.models import ResistiveNetwork

    out = {}
    for sizes in ([2, 4, 2], [4, 8, 3]):
        tag = "-".join(map(str, sizes))
        out[f"transistors {tag}"] = ResistiveNetwork(transistor_circuit(sizes, seed=seed))
        out[f"conductances {tag} (control)"] = ResistiveNetwork(drn_circuit(sizes, seed=seed, target_on=0.2))
    # users' devices: every hidden-to-output edge a trainable tanh-like device
    G = circuit_graph([4, 8, 3], seed=seed)
    law = DeviceLaw.tanh("SAT", i_max=2e-5, v_scale=0.2)
    for u, v, d in G.edges(data=True):
        if str(v).startswith("y") and str(u).startswith("h"):
            d.clear()
            d.update(element="device", law="SAT", p=2e-5)
    out["tanh devices 4-8-3"] = ResistiveNetwork(circuit_from_graph(G, clamp=(0.0, None), laws={"SAT": law},
                                                                    target_on=0.2, name="devices"))
    return out


def _train(net, x, y, epochs: int) -> None:
    """A few Adam epochs: steps of 50 mV on gates, 1 uS on conductances, 1 uA on device parameters."""
    from analog_eqprop.training import TrainConfig, Trainer

    kind = {net.param_layer(k): k for k in net.params}
    lrs = tuple(0.05 if kind.get(k, "g").startswith("vg") else 1e-6 for k in range(net.n_layers))
    cfg = TrainConfig(epochs=epochs, batch_size=10, learning_rates=lrs, beta=1e-6, beta_mode="centered",
                      optimizer="adam", persistent=False)
    tr = Trainer(net, cfg, progress=False)
    for _ in range(epochs):
        tr.train_epoch(x, y)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the records to this file")
    args = ap.parse_args(argv)
    from analog_eqprop.data import load_iris
    from analog_eqprop.eqprop.gradcheck import gradcheck

    data = load_iris()
    rng = np.random.default_rng(args.seed)
    records = []
    t0 = time.perf_counter()
    for trained in (False, True):
        for name, net in _nets(args.seed).items():
            n_in = net.n_inputs
            idx = rng.choice(len(data.x_train), 10, replace=False)
            x = data.x_train[idx][:, :n_in] if n_in <= 4 else data.x_train[idx]
            y = data.y_train[idx] % net.n_outputs
            if trained:
                _train(net, data.x_train[:, :n_in], data.y_train % net.n_outputs, 5)
            t = np.eye(net.n_outputs)[y]
            for mode in ("centered", "positive"):
                rep = gradcheck(net, x, t, betas=BETAS, mode=mode, finite_differences=mode == "centered")
                rec = dict(net=name, trained=trained, mode=mode, n_params=rep.n_params, fd_rel_error=rep.fd_rel_error,
                           rows=[r.as_dict() for r in rep.rows])
                records.append(rec)
                cells = "  ".join(f"{r.beta:.0e}: 1-cos {1 - r.cosine:.1e}, rel {r.rel_error:.1e}" for r in rep.rows)
                fd = f" (implicit vs FD rel {rep.fd_rel_error:.1e})" if rep.fd_rel_error is not None else ""
                print(f"{name:32} {'trained' if trained else 'initial':8} {mode:9} {cells}{fd}", flush=True)
    print(f"{time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
