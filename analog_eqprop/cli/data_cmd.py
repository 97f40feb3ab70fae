"""``analog-eqprop data``: download MNIST / Fashion-MNIST into the data home, and list the cache."""

from __future__ import annotations

import argparse
import os
import sys

from analog_eqprop.cli.common import HelpFormatter, print_json
from analog_eqprop.data.datasets import resolve_data_dir
from analog_eqprop.data.remote import DATA_HOME_ENV_VAR, REMOTE_DATASETS, cache_status, data_home, fetch_dataset
from analog_eqprop.errors import DataError

DESCRIPTION = f"""\
Download the IDX files of MNIST or Fashion-MNIST from their public mirrors (tried in turn),
check each against the published digest of its decompressed content before keeping it, and
cache them in the data home: --data-home, else ${DATA_HOME_ENV_VAR}, else the user cache
directory (~/.cache/analog_eqprop on Linux). The loaders (--dataset mnist, load_mnist()) read
from there once fetched.

examples:
  analog-eqprop data fetch mnist
  analog-eqprop data fetch fashion-mnist --data-home /data/eqprop
  analog-eqprop data fetch mnist --mirror https://my.mirror/mnist/ --mirror /mnt/share/mnist
  analog-eqprop data list --verify --json
"""

FETCH_DESCRIPTION = f"""\
Download the four IDX files of each data set named, unless a good copy is cached. Each file
comes from the first mirror that gives a copy whose decompressed content has the published
SHA-256; a wrong digest, a truncated transfer or a dead mirror moves on to the next, and when
none is good the error names the file and lists every URL tried. Nothing partial or unchecked
is ever left in the cache (files go to a temporary name and are renamed once checked).

Cached files are checked again; one that fails is downloaded anew. --mirror replaces the
built-in mirrors: an http(s):// or file:// base URL, or a local directory holding the files.

built-in mirrors:
""" + "\n".join(f"  {name}:\n" + "\n".join(f"    {m}" for m in spec.mirrors) for name, spec in REMOTE_DATASETS.items()) + "\n"

LIST_DESCRIPTION = """\
Show, per data set, the directory in the data home, which files are cached, and the directory
the loaders will actually read (--data-dir aside): $ANALOG_EQPROP_MNIST_DIR /
$ANALOG_EQPROP_FASHION_MNIST_DIR, the data home, or for Fashion-MNIST Debian's
/usr/share/datasets/fashion-mnist. --verify checks every cached file against its digest.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="download MNIST / Fashion-MNIST and list the data cache",
                       description=DESCRIPTION, formatter_class=HelpFormatter)
    actions = p.add_subparsers(dest="data_command", metavar="ACTION")
    actions.required = True

    f = actions.add_parser("fetch", help="download data sets into the data home", description=FETCH_DESCRIPTION,
                           formatter_class=HelpFormatter)
    f.add_argument("names", nargs="+", choices=tuple(REMOTE_DATASETS), metavar="NAME",
                   help=f"data set(s) to download: {', '.join(REMOTE_DATASETS)}")
    f.add_argument("--mirror", dest="mirrors", action="append", default=None, metavar="URL",
                   help="base URL or directory to download from instead of the built-in mirrors "
                        "(repeat to give several, tried in order)")
    f.add_argument("--data-home", default=None, metavar="DIR",
                   help=f"where to cache the files (default: ${DATA_HOME_ENV_VAR}, else the user cache directory)")
    f.add_argument("--force", action="store_true", help="download again even when a good copy is cached")
    f.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="seconds to wait for a mirror to answer or send more data")
    f.add_argument("--json", action="store_true",
                   help="print one JSON object (directory and per-file status) instead of text; no progress bar")
    f.set_defaults(func=run_fetch)

    ls = actions.add_parser("list", help="show what is cached and where the loaders read from",
                            description=LIST_DESCRIPTION, formatter_class=HelpFormatter)
    ls.add_argument("--data-home", default=None, metavar="DIR",
                    help=f"the data home to list (default: ${DATA_HOME_ENV_VAR}, else the user cache directory)")
    ls.add_argument("--verify", action="store_true", help="check each cached file against its digest (reads them)")
    ls.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ls.set_defaults(func=run_list)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def run_fetch(args: argparse.Namespace) -> int:
    progress = (not args.json) and sys.stderr.isatty()
    reports = []
    for name in dict.fromkeys(args.names):  # each once, in the order given
        report = fetch_dataset(name, args.data_home, mirrors=args.mirrors, force=args.force, progress=progress,
                               timeout_s=args.timeout)
        reports.append(report)
        if not args.json:
            print(f"{report.name}: {report.directory}")
            for f in report.files:
                where = f" from {f.url}" if f.url else " (checked)" if f.verified else ""
                print(f"  {f.name:28s} {_size(f.bytes):>10s}  {f.status}{where}")
                for url, reason in f.failed:
                    print(f"    tried first {url}: {reason}")
            sys.stdout.flush()
    if args.json:
        print_json({"data_home": _home_json(args.data_home), "datasets": [r.to_dict() for r in reports]})
    return 0


def _home_json(path: str | None) -> str:
    return str(data_home(path))


def _source(name: str, home: str | None) -> str | None:
    """The directory the loaders read for ``name`` with no --data-dir, or None if there is none."""
    try:
        return str(resolve_data_dir(name, data_home=home))
    except DataError:
        return None


def run_list(args: argparse.Namespace) -> int:
    home = data_home(args.data_home)
    entries = cache_status(home, verify=args.verify)
    for entry in entries:
        entry["loads_from"] = _source(entry["dataset"], str(home))
    if args.json:
        print_json({"data_home": str(home), "datasets": entries})
        return 0
    origin = "--data-home" if args.data_home else f"${DATA_HOME_ENV_VAR}" if os.environ.get(DATA_HOME_ENV_VAR) \
        else "user cache directory"
    print(f"data home: {home} ({origin})")
    for entry in entries:
        present = [f for f in entry["files"] if f["path"]]
        total = sum(f["bytes"] for f in present)
        if not present:
            state = "not cached"
        elif entry["complete"]:
            state = f"complete, {len(present)} files, {_size(total)}" + (", verified" if args.verify else "")
        else:
            state = f"incomplete, {len(present)} of {len(entry['files'])} files"
        print(f"{entry['dataset']:14s} {state}")
        for f in entry["files"]:
            if f["status"] not in ("present", "ok"):
                print(f"  {f['name']:28s} {f['status']}")
        loads = entry["loads_from"] or f"nowhere yet: analog-eqprop data fetch {entry['dataset']}"
        print(f"  loads from: {loads}")
    return 0
