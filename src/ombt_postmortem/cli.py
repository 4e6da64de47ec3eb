"""``ombt-postmortem``: quick looks at campaign data without the workflow."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import RunDataError
from .ombt.parse import parse_run_folder
from .ombt.stats import merge_agents
from .ombt.text import format_results


def cmd_show(args: argparse.Namespace) -> int:
    folder = Path(args.run_folder)
    try:
        parsed = parse_run_folder(folder, folder.name)
    except RunDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clients = [a for a in parsed.agents if a.side == "client"]
    servers = [a for a in parsed.agents if a.side == "server"]
    print(f"Run folder: {folder}")
    print("Controller files: " + ", ".join(p.name for p in parsed.files))
    print(f"{len(clients)} clients, {len(servers)} servers "
          f"({len(clients) + len(servers)} total)")
    for title, agents in (("Client", clients), ("Server", servers)):
        print()
        print()
        heading = f"Aggregated {title} results:"
        print(heading)
        print("-" * len(heading))
        if agents:
            print("\n".join(format_results(merge_agents(agents))))
        else:
            print(f"(no {title.lower()} results)")
    for problem in parsed.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 1 if parsed.problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ombt-postmortem", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print a run's merged client and server results "
                          "as the ombt controller prints them")
    show.add_argument("run_folder", help="a run's backup folder (holding the controller log)")
    show.set_defaults(func=cmd_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
