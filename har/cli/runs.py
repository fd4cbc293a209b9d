"""`har runs`: the training runs started from the app (or `har.training.jobs`), by id.

har runs                 one line per run, newest first
har runs show RUN        a run's settings, results and curves (RUN: its id or the id's start)
har runs show RUN --csv  its curves as CSV, for a spreadsheet or a plot
"""

from __future__ import annotations

import argparse
import datetime as dt

from har.config import runs_dir
from har.training.runs import curves_csv, find_run, list_runs, settings, summarize


def add_parser(sub) -> None:
    """The `runs` subcommand, added to the `har` parser's subcommands."""
    p = sub.add_parser("runs", help="list training runs; `har runs show RUN` for one run")
    p.set_defaults(func=cmd_runs)
    actions = p.add_subparsers(dest="runs_action", metavar="ACTION")
    show = actions.add_parser("show", help="a run's settings, results and curves")
    show.add_argument("run", metavar="RUN", help="the run's id (or the start of it)")
    show.add_argument("--csv", action="store_true", help="print the curves as CSV only")
    show.set_defaults(func=cmd_runs_show)


def cmd_runs(args: argparse.Namespace) -> int:
    runs = list_runs()
    if not runs:
        print(f"No runs in {runs_dir()}.")
        return 0
    columns = ["id", "name", "model", "recipe", "epochs run", "best val accuracy"]
    columns += ["test accuracy", "duration (s)", "status"]
    rows = [[_text(r.row()[c]) for c in columns] for r in runs]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_runs_show(args: argparse.Namespace) -> int:
    job = find_run(args.run)
    if args.csv:
        print(curves_csv(job), end="")
        return 0
    summary = summarize(job)
    started = dt.datetime.fromtimestamp(summary.started) if summary.started else None
    print(f"Run {summary.id}: {_text(summary.name)}")
    print(
        f"  status: {summary.status}"
        + (f", started {started:%Y-%m-%d %H:%M:%S}" if started else "")
    )
    if summary.seconds is not None:
        print(f"  duration: {summary.seconds:.0f} s")
    for key, value in settings(job).items():
        print(f"  {key}: {_text(value)}")
    for key in ("epochs run", "best val accuracy", "test accuracy"):
        print(f"  {key}: {summary.row()[key] or '-'}")
    if summary.damaged_lines:
        print(f"  warning: {summary.damaged_lines} damaged line(s) in its events.jsonl skipped")
    state = job.snapshot()
    if state.error:
        print(f"  error: {state.error}")
    for arch, history in state.history.items():
        print(f"\n{arch.upper()}  epoch  loss    accuracy  val_loss  val_accuracy")
        for h in history:
            cells = [_num(h.get(k)) for k in ("loss", "accuracy", "val_loss", "val_accuracy")]
            print(f"{'':{len(arch)}}  {h.get('epoch', '?'):>5}  " + "  ".join(cells))
    return 0


def _num(value) -> str:
    return f"{value:8.4f}" if isinstance(value, int | float) else f"{'-':>8}"


def _text(value) -> str:
    """A value on one line, control characters out (names and classes are user text)."""
    text = "" if value is None else str(value)
    return "".join(c if c.isprintable() else " " for c in text)
