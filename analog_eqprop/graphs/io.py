"""Reading and writing network graphs: node-link JSON and GraphML.

The format follows the file extension. Both formats round-trip a toolkit
graph exactly: same nodes in the same order, same attributes with the same
Python types (ints stay ints, floats stay floats), weights bit for bit, and
the same ``G.edges`` order (which fixes the order of seeded weight draws).
Bit-exact floats hold because both writers emit ``repr(float)``, the shortest
string that parses back to the same double; NumPy scalars are converted to
the Python scalar of the same value first so that, e.g., a float32 weight is
not written at float32 precision and read back as a different float64.

:func:`read_graph` does not validate; call
:func:`~analog_eqprop.graphs.validate_graph` on the result.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Union

import networkx as nx
import numpy as np

from analog_eqprop.errors import GraphError

__all__ = ["SUPPORTED_EXTENSIONS", "write_graph", "read_graph"]

#: File extensions understood by :func:`write_graph` and :func:`read_graph`.
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".json", ".graphml")

PathLike = Union[str, "os.PathLike[str]"]


def _format_of(path: PathLike) -> tuple[Path, str]:
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise GraphError(
            f"cannot tell the graph format of {str(p)!r} from its extension {p.suffix!r}; "
            f"supported extensions: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    return p, ext


def _plain(value: Any) -> Any:
    """Python scalar of the same value for NumPy scalars; other values unchanged."""
    if isinstance(value, np.generic) and not isinstance(value, (np.str_, np.bytes_)):
        return value.item()
    return value


def _needs_plain(G: nx.Graph) -> bool:
    types: set[type] = set(map(type, G.graph.values()))
    for _, d in G.nodes(data=True):
        types.update(map(type, d.values()))
    for *_, d in G.edges(data=True):
        types.update(map(type, d.values()))
    return any(issubclass(t, np.generic) for t in types)


def _plain_copy(G: nx.Graph) -> nx.Graph:
    H = G.__class__()
    H.graph.update({k: _plain(v) for k, v in G.graph.items()})
    H.add_nodes_from((n, {k: _plain(v) for k, v in d.items()}) for n, d in G.nodes(data=True))
    H.add_edges_from(
        (u, v, {k: _plain(x) for k, x in d.items()}) for u, v, d in G.edges(data=True)
    )
    return H


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be stored in JSON")


def write_graph(G: nx.Graph, path: PathLike) -> None:
    """Write `G` to `path`, in the format given by the extension.

    Parameters
    ----------
    G : networkx.Graph
        The graph. Attribute values must be scalars (str, int, float, bool)
        for GraphML; JSON also takes lists and dicts.
    path : str or os.PathLike
        ``*.json`` (node-link JSON) or ``*.graphml``.

    Raises
    ------
    GraphError
        If the extension is unknown, or the graph holds a value the format
        cannot store (e.g. a non-string node name or a list in GraphML).

    Examples
    --------
    >>> import tempfile, os
    >>> from analog_eqprop.graphs import layered_graph
    >>> G = layered_graph([2, 2, 1], seed=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_graph(G, os.path.join(d, "net.graphml"))
    ...     H = read_graph(os.path.join(d, "net.graphml"))
    >>> list(H.edges(data="weight")) == list(G.edges(data="weight"))
    True
    """
    p, ext = _format_of(path)
    if not isinstance(G, nx.Graph):
        raise GraphError(f"expected a networkx graph, got {type(G).__name__}")
    if ext == ".json":
        data = nx.node_link_data(G, edges="edges")
        try:
            text = json.dumps(data, default=_json_default, indent=1)
        except (TypeError, ValueError) as err:
            raise GraphError(f"cannot write {str(p)!r} as JSON: {err}") from None
        p.write_text(text + "\n", encoding="utf-8")
        return

    for n in G.nodes:
        if not isinstance(n, str):
            raise GraphError(
                f"cannot write {str(p)!r}: GraphML stores node names as text, so node {n!r} "
                f"({type(n).__name__}) would come back as {str(n)!r}; use string names"
            )
    H = _plain_copy(G) if _needs_plain(G) else G
    try:
        nx.write_graphml(H, p)
    except (TypeError, nx.NetworkXError) as err:
        raise GraphError(f"cannot write {str(p)!r} as GraphML: {err}") from None


def _read_json(p: Path) -> nx.Graph:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise GraphError(
            f"{str(p)!r} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from None
    except UnicodeDecodeError as err:
        raise GraphError(f"{str(p)!r} is not UTF-8 text: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise GraphError(
            f"{str(p)!r} is not node-link graph JSON: expected an object with a 'nodes' list"
        )
    # networkx < 3.4 wrote edges under "links"; accept both.
    key = "edges" if "edges" in data else "links" if "links" in data else None
    if key is None or not isinstance(data[key], list):
        raise GraphError(
            f"{str(p)!r} is not node-link graph JSON: expected an 'edges' (or 'links') list"
        )
    try:
        # node_link_graph's own default is multigraph=True; files written by
        # older networkx may omit the flag, and a plain Graph is what we mean.
        return nx.node_link_graph(data, directed=False, multigraph=False, edges=key)
    except (KeyError, TypeError, ValueError, nx.NetworkXError) as err:
        raise GraphError(f"{str(p)!r} has malformed node-link data: {err!r}") from None


def _read_graphml(p: Path) -> nx.Graph:
    try:
        G = nx.read_graphml(p)
    except ET.ParseError as err:
        raise GraphError(f"{str(p)!r} is not valid GraphML (XML parse error: {err})") from None
    except (nx.NetworkXError, KeyError, TypeError, ValueError) as err:
        raise GraphError(f"{str(p)!r} is not valid GraphML: {err}") from None
    # The reader always adds these (key defaults); our writer cannot have
    # written them (GraphML stores no dict values), so drop them when empty
    # to make the round trip give back an equal G.graph.
    for extra in ("node_default", "edge_default"):
        if G.graph.get(extra) == {}:
            del G.graph[extra]
    return G


def read_graph(path: PathLike) -> nx.Graph:
    """Read a graph written by :func:`write_graph` (or another networkx writer).

    The result is not validated. Files that declare an undirected, non-multi
    graph give a :class:`networkx.Graph`; a file that declares a directed
    graph gives a :class:`networkx.DiGraph`, which
    :func:`~analog_eqprop.graphs.validate_graph` then rejects.

    Parameters
    ----------
    path : str or os.PathLike
        ``*.json`` (node-link JSON, edges under ``"edges"`` or the older
        ``"links"``) or ``*.graphml``.

    Returns
    -------
    networkx.Graph

    Raises
    ------
    GraphError
        If the extension is unknown, the file does not exist, or it cannot be
        parsed (the message names the file and the problem).

    Examples
    --------
    >>> read_graph("no_such_file.json")
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.GraphError: graph file 'no_such_file.json' does not exist
    """
    p, ext = _format_of(path)
    if not p.is_file():
        if not p.exists():
            raise GraphError(f"graph file {str(p)!r} does not exist")
        raise GraphError(f"graph file {str(p)!r} is not a regular file")
    return _read_json(p) if ext == ".json" else _read_graphml(p)
