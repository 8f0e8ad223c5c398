"""``cnnkit runs``: the run store from the command line (list, show, compare, rm, export)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cnnkit.files import write_atomic
from cnnkit.train.comparison import comparison_rows
from cnnkit.train.export import export_run, format_of
from cnnkit.train.store import Run, RunStore, reason_text


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "—"


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "—"


def list_json(run: Run) -> dict:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "source": run.source,
        "created": run.created,
        "finished": run.finished,
        "dataset": run.dataset,
        "epochs": len(run.epochs),
        "epochs_planned": run.config.get("epochs"),
        "progress": round(run.progress, 4),
        "test_accuracy": run.test_accuracy,
        "best_accuracy": run.best_accuracy,
        "parameters": run.parameters,
        "device": run.device,
        "reason": reason_text(run.reason, "en"),
    }


def cmd_list(args, store: RunStore) -> int:
    runs = store.list()
    if args.json:
        print(json.dumps([list_json(r) for r in runs]))
        return 0
    if not runs:
        print("no runs yet: cnnkit train ... records one", file=sys.stderr)
        return 0
    print(f"{'id':>4}  {'created':16}  {'status':8}  {'epochs':>6}  {'test acc':>8}  {'source':8}  name")
    for r in runs:
        print(
            f"{r.id:>4}  {_when(r.created):16}  {r.status:8}  {len(r.epochs):>3}/{r.config.get('epochs', '?'):<2}  "
            f"{_percent(r.test_accuracy):>8}  {r.source:8}  {r.title()}"
        )
    return 0


def cmd_show(args, store: RunStore) -> int:
    run = store.get(args.ids)
    if args.json:
        print(json.dumps({**run.to_json(), "reason": reason_text(run.reason, "en")}))
        return 0
    print(f"run {run.id}: {run.title()} — {run.status}" + (f" ({reason_text(run.reason, 'en')})" if run.reason else ""))
    print(
        f"  {run.dataset}, {run.train_images} training / {run.test_images} test images; device {run.device}; "
        f"{run.parameters} parameters; created {_when(run.created)}, finished {_when(run.finished)}"
    )
    print(f"  config: {json.dumps(run.config)}")
    for e in run.epochs:
        print(
            f"  epoch {e.epoch}: train loss {e.train_loss:.4f}, test loss {e.test_loss:.4f}, "
            f"test accuracy {e.test_accuracy:.4f}, {e.seconds:.1f} s"
        )
    return 0


def cmd_compare(args, store: RunStore) -> int:
    rows = comparison_rows([store.get(i) for i in args.ids])
    if args.json:
        print(json.dumps(rows))
        return 0
    keys = list(rows[0])
    for key in keys:
        print(f"{key:>22}  " + "  ".join(f"{_cell(row[key]):>14}" for row in rows))
    return 0


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)[:14]


def cmd_rm(args, store: RunStore) -> int:
    for run_id in args.ids:
        store.remove(run_id)
        print(f"removed run {run_id}", file=sys.stderr)
    return 0


def cmd_export(args, store: RunStore) -> int:
    """The run's model as ``--format`` (or the format that ``--out``'s name says), written atomically."""
    fmt = format_of(args.out, args.format)
    data = export_run(store, args.id, fmt, which="last" if args.last else "best", stem=Path(args.out).stem)
    print(f"saved {write_atomic(args.out, data)}", file=sys.stderr)
    return 0


COMMANDS = {"list": cmd_list, "show": cmd_show, "compare": cmd_compare, "rm": cmd_rm, "export": cmd_export}


def run(args, store: RunStore) -> int:
    return COMMANDS[args.runs_command](args, store)
