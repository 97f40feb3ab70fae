"""The training history of a model: one record per epoch, JSON and a figure.

Records are the trainer's (``epoch``, ``train_error``, ``train_cost``, ``test_error``,
``valid_error``, ``seconds``... and ``lr_scale_end`` under a schedule). :attr:`History.history`
gives them column-wise, as Keras does.

Examples
--------
>>> h = History([{"epoch": 1, "train_error": 0.5}, {"epoch": 2, "train_error": 0.25}])
>>> len(h), h[-1]["train_error"], h.history["train_error"]
(2, 0.25, [0.5, 0.25])
>>> History.from_json(h.to_json()) == h
True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from analog_eqprop.training.checkpoint import atomic_write_text

__all__ = ["History"]


class History:
    """Per-epoch records (dicts) of a model's training, oldest first."""

    def __init__(self, records: Iterable[dict[str, Any]] = ()):
        self.records: list[dict[str, Any]] = [dict(r) for r in records]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and self.records == other.records

    def __repr__(self) -> str:
        last = self.records[-1] if self.records else {}
        shown = {k: v for k, v in last.items() if k.endswith("error")}
        return f"History({len(self)} epochs, last: {shown})"

    @property
    def history(self) -> dict[str, list]:
        """Column-wise: metric name -> one value per epoch (``None`` where an epoch lacks it)."""
        keys = list(dict.fromkeys(k for r in self.records for k in r))
        return {k: [r.get(k) for r in self.records] for k in keys}

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        self.records.extend(dict(r) for r in records)

    def to_json(self, path: str | Path | None = None) -> str:
        """The records as a JSON list (written to ``path`` too, when given)."""
        text = json.dumps(self.records, indent=1)
        if path is not None:
            atomic_write_text(path, text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "History":
        """Records from JSON text or a file written by :meth:`to_json`."""
        text = str(text_or_path)
        if not text.lstrip().startswith("["):
            text = Path(text_or_path).read_text(encoding="utf-8")
        return cls(json.loads(text))

    def plot(self, path: str | Path, metrics: Iterable[str] | None = None, *, dpi: int = 120) -> Path:
        """Draw the error curves (or ``metrics``) against the epoch into a PNG file (Agg canvas,
        no display needed)."""
        # lazy: matplotlib takes ~0.5 s to import, and only this method needs it
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        cols = self.history
        metrics = [m for m in (metrics or [k for k in cols if k.endswith("error")]) if m in cols]
        fig = Figure(figsize=(5.0, 3.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        epochs = cols.get("epoch", list(range(1, len(self) + 1)))
        for m in metrics:
            scale = 100.0 if m.endswith("error") else 1.0
            ax.plot(epochs, [None if v is None else v * scale for v in cols[m]], marker="o", label=m)
        ax.set_xlabel("epoch")
        ax.set_ylabel("error %" if all(m.endswith("error") for m in metrics) else "value")
        if metrics:
            ax.legend()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
        return path
