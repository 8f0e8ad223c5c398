"""The run store: every training run (CLI, page, benchmark, torchrun's rank 0) as one row of an SQLite
database, ``<runs dir>/runs.db`` in WAL mode, with its files in ``<runs dir>/<id>/``: ``last.pt`` (the last
finished epoch), ``best.pt`` (the best test accuracy so far), ``resume.pt`` (what ``--resume`` needs) and
``snapshots.safetensors`` (the network after each epoch, small: ``cnnkit.train.snapshots``).

Several processes read and write it at once (the app and a CLI run): each write is one short transaction,
and a busy database is waited for. The schema version is SQLite's ``user_version``; ``MIGRATIONS`` brings an
older database up to date, a newer or corrupt one is refused with a clear message.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import torch

from cnnkit.errors import CnnkitError, FailureKind, Term
from cnnkit.files import write_all_atomic, write_atomic
from cnnkit.i18n import DEFAULT_LANGUAGE, text
from cnnkit.nets.builder import count_parameters
from cnnkit.nets.checkpoints import Checkpoint, load_checkpoint, save_checkpoint, to_bytes
from cnnkit.paths import runs_dir
from cnnkit.train.evaluation import Evaluation
from cnnkit.train.loop import EpochStats, Resume, TrainConfig, TrainResult
from cnnkit.train.naming import default_name, shown_name
from cnnkit.train.snapshots import EpochSnapshots
from cnnkit.train.snapshots import from_bytes as snapshots_from_bytes
from cnnkit.train.snapshots import to_bytes as snapshots_to_bytes

ENDED = ("finished", "stopped", "failed")
FINETUNE = "finetune"  # a model fine-tuned on a learner's drawings and kept (``infer/finetune.py`` ``keep_as_run``)
FILES = ("last", "best")
SNAPSHOTS = "snapshots.safetensors"
RUN_ID = re.compile(r"#?[0-9]{1,19}")  # ASCII digits only
MAX_ID = 2**63 - 1  # SQLite's largest integer

MIGRATIONS = (
    # 1: the first schema
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        owner TEXT,
        status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        started REAL,
        finished REAL,
        config TEXT NOT NULL,
        dataset TEXT NOT NULL,
        train_images INTEGER,
        test_images INTEGER,
        device TEXT NOT NULL DEFAULT '',
        parameters INTEGER,
        progress REAL NOT NULL DEFAULT 0,
        test_accuracy REAL,
        best_accuracy REAL,
        seconds REAL,
        loss_trace TEXT NOT NULL DEFAULT '[]',
        evaluation TEXT,
        host TEXT NOT NULL DEFAULT '',
        pid INTEGER
    );
    CREATE TABLE epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        seconds REAL NOT NULL,
        train_loss REAL NOT NULL,
        train_accuracy REAL NOT NULL,
        test_loss REAL NOT NULL,
        test_accuracy REAL NOT NULL,
        images_per_s REAL NOT NULL,
        PRIMARY KEY (run_id, epoch)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, kw_only=True)
class Run:
    """One run as the store holds it (no weights)."""

    id: int
    name: str
    source: str
    owner: str | None
    status: str
    reason: dict | None  # why it stopped or failed: {"key": message key, "values": {...}}
    created: float
    started: float | None
    finished: float | None
    config: dict
    dataset: str
    train_images: int | None
    test_images: int | None
    device: str
    parameters: int | None
    progress: float
    test_accuracy: float | None
    best_accuracy: float | None
    seconds: float | None
    loss_trace: list  # [[epoch position, loss], ...]
    evaluation: dict | None
    epochs: tuple[EpochStats, ...] = ()

    @cached_property
    def train_config(self) -> TrainConfig:
        return config_from_dict(self.config)

    def title(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """Its name as ``lang`` shows it (``naming.shown_name``: a name the store made follows the language)."""
        return shown_name(self.id, self.name, self.train_config, lang)

    @property
    def seconds_per_epoch(self) -> float | None:
        return sum(e.seconds for e in self.epochs) / len(self.epochs) if self.epochs else None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def epochs_left(self) -> int:
        """The epochs of its settings that it has not trained (yet)."""
        return max(self.config.get("epochs", 0) - len(self.epochs), 0)

    @property
    def resumable(self) -> bool:
        """Whether training can go on from the epochs it kept: it was stopped or failed (killed, Ctrl-C, a full
        disk, the GPU's memory) before its last epoch; not a run that diverged, which would only diverge again."""
        ended_early = self.status == "stopped" or (self.status == "failed" and self.failure is not FailureKind.DIVERGED)
        return bool(self.epochs) and self.epochs_left > 0 and ended_early

    @property
    def has_model(self) -> bool:
        """Whether it ended with a model to use: a training that finished or stopped after an epoch, or a kept
        fine-tuning."""
        return self.status in ("finished", "stopped") and (bool(self.epochs) or self.source == FINETUNE)

    @property
    def failure(self) -> FailureKind | None:
        """The kind of failure its reason records, where a page answers it with an offer."""
        kind = (self.reason or {}).get("kind")
        return next((known for known in FailureKind if known == kind), None)

    def to_json(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("loss_trace", "evaluation", "epochs")}
        out["epochs"] = len(self.epochs)
        out["history"] = [asdict(e) for e in self.epochs]
        return out


def config_from_dict(values: dict) -> TrainConfig:
    """A ``TrainConfig`` from its ``to_dict()`` form (unknown keys of other versions ignored)."""
    from cnnkit.data.folders import FolderOptions
    from cnnkit.nets.builder import ModelConfig

    known = {k: v for k, v in values.items() if k in TrainConfig.__dataclass_fields__}
    folder = FolderOptions(**values["folder"]) if values.get("folder") else None
    try:
        return TrainConfig(**{**known, "model": ModelConfig.from_dict(values.get("model", {})), "folder": folder})
    except (TypeError, CnnkitError):
        raise CnnkitError("runs.errors.bad_config") from None


class RunStore:
    """The runs directory: the database and a folder per run."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else runs_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CnnkitError("runs.errors.no_dir", path=str(self.root), reason=exc.strerror or str(exc)) from None
        self.path = self.root / "runs.db"
        # a folder or database this process cannot write (permissions, a read-only mount): its runs can be read
        self.read_only = not os.access(self.root, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK))
        with self._session() as db:
            self._migrate(db)

    # ------------------------------------------------------------------ the database
    def _connect(self) -> sqlite3.Connection:
        if self.read_only and not self.path.is_file():
            raise self._refused()
        try:
            if self.read_only:  # immutable: without it, reading a WAL database needs a file written beside it
                uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
                db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            else:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            return db
        except sqlite3.DatabaseError as exc:
            raise self._failure(exc) from None

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction, closed after it: the last one closed folds the write-ahead log into
        the database, which then holds every run even when read as a read-only (immutable) file."""
        db = self._connect()
        try:
            with db:
                yield db
        finally:
            db.close()

    def _refused(self) -> CnnkitError:
        return CnnkitError("runs.errors.read_only", path=str(self.root))

    def _failure(self, exc: sqlite3.DatabaseError) -> CnnkitError:
        """A database error in the user's words: read-only (never "damaged") where it could not write."""
        if (getattr(exc, "sqlite_errorname", "") or "").startswith("SQLITE_READONLY"):
            return self._refused()
        return CnnkitError("runs.errors.corrupt", path=str(self.path), reason=str(exc))

    def _migrate(self, db: sqlite3.Connection) -> None:
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CnnkitError("runs.errors.newer", path=str(self.path), version=version, supported=SCHEMA_VERSION)
            if version == SCHEMA_VERSION:
                return
            if self.read_only:  # an older store is brought up to date by a process that may write it
                raise self._refused()
            db.execute("BEGIN IMMEDIATE")
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            for number in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise self._failure(exc) from None

    def _write(self, sql: str, values: tuple = ()) -> int:
        if self.read_only:
            raise self._refused()
        try:
            with self._session() as db:
                return db.execute(sql, values).lastrowid
        except sqlite3.DatabaseError as exc:
            raise self._failure(exc) from None

    def _read(self, sql: str, values: tuple = ()) -> list[sqlite3.Row]:
        try:
            with self._session() as db:
                return db.execute(sql, values).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._failure(exc) from None

    # ------------------------------------------------------------------ runs
    def create(
        self,
        config: TrainConfig,
        *,
        name: str = "",
        source: str = "cli",
        owner: str | None = None,
        status: str = "running",
        train_images: int | None = None,
        test_images: int | None = None,
        dataset: str | None = None,
        lang: str = DEFAULT_LANGUAGE,
    ) -> int:
        """A new run's row; its id. ``dataset``: what it trains on (``DatasetInfo.recorded``; default the config's).
        Without a ``name`` it is named by its number and settings in ``lang``: ``#3 ConvNet · BatchNorm · Adam 0.001``.
        """
        now = time.time()
        run_id = self._write(
            "INSERT INTO runs (name, source, owner, status, created, started, config, dataset, train_images, "
            "test_images, host, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                name or default_name(config, lang),
                source,
                owner,
                status,
                now,
                now if status == "running" else None,
                json.dumps(config.to_dict()),
                dataset or config.dataset,
                train_images,
                test_images,
                socket.gethostname(),
                os.getpid(),
            ),
        )
        if not name:
            self.update(run_id, name=f"#{run_id} {default_name(config, lang)}")
        self.folder(run_id).mkdir(parents=True, exist_ok=True)
        return run_id

    def add_model(
        self,
        ckpt: Checkpoint,
        config: dict,
        *,
        name: str,
        source: str,
        owner: str | None,
        train_images: int,
        test_images: int,
    ) -> int:
        """A model made without a training run (a kept fine-tuning) as a finished run: its row, with ``config``
        as its stored settings and the card's test accuracy, and its ``best.pt``; its id."""
        run_id = self.create(
            TrainConfig(),
            name=name,
            source=source,
            owner=owner,
            train_images=train_images,
            test_images=test_images,
            dataset=ckpt.dataset,
        )
        save_checkpoint(ckpt, self.folder(run_id) / "best.pt")
        accuracy = ckpt.metrics.get("test_accuracy")
        self.update(
            run_id,
            config=config,
            parameters=count_parameters(ckpt.model),
            test_accuracy=accuracy,
            best_accuracy=accuracy,
            device="cpu",
            progress=1.0,
        )
        self.finish(run_id, "finished")
        return run_id

    def get(self, run_id: int | str) -> Run:
        run_id = parse_id(run_id)
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise CnnkitError("runs.errors.unknown", id=run_id)
        return self._run(rows[0], self._epochs([run_id]).get(run_id, ()))

    def list(self, *, owner: str | None = None, include_others: bool = True) -> list[Run]:
        """Runs, newest first: all of them, or only ``owner``'s (with ``include_others``, everyone's ended ones)."""
        if owner is None:
            rows = self._read("SELECT * FROM runs ORDER BY id DESC")
        elif include_others:  # a "running" row too: its process may have been killed, which only _run finds
            rows = self._read("SELECT * FROM runs WHERE owner = ? OR status != 'queued' ORDER BY id DESC", (owner,))
        else:
            rows = self._read("SELECT * FROM runs WHERE owner = ? ORDER BY id DESC", (owner,))
        epochs = self._epochs([r["id"] for r in rows])
        runs = [self._run(r, epochs.get(r["id"], ())) for r in rows]
        return [run for run in runs if owner is None or run.owner == owner or run.ended]

    def _epochs(self, ids: list[int]) -> dict[int, tuple[EpochStats, ...]]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        out: dict[int, list[EpochStats]] = {}
        for r in self._read(f"SELECT * FROM epochs WHERE run_id IN ({marks}) ORDER BY run_id, epoch", tuple(ids)):
            out.setdefault(r["run_id"], []).append(EpochStats(**{k: r[k] for k in EpochStats.__dataclass_fields__}))
        return {k: tuple(v) for k, v in out.items()}

    def _run(self, row: sqlite3.Row, epochs: tuple[EpochStats, ...]) -> Run:
        values = dict(row)
        status = values["status"]
        if status == "running" and _process_gone(values["host"], values["pid"]):
            key = "runs.reasons.process_gone" if epochs else "runs.reasons.process_gone_early"
            status, values["reason"] = "failed", json.dumps({"key": key, "values": {}})
        return Run(
            id=values["id"],
            name=values["name"],
            source=values["source"],
            owner=values["owner"],
            status=status,
            reason=json.loads(values["reason"]) if values["reason"] else None,
            created=values["created"],
            started=values["started"],
            finished=values["finished"],
            config=json.loads(values["config"]),
            dataset=values["dataset"],
            train_images=values["train_images"],
            test_images=values["test_images"],
            device=values["device"],
            parameters=values["parameters"],
            progress=values["progress"],
            test_accuracy=values["test_accuracy"],
            best_accuracy=values["best_accuracy"],
            seconds=values["seconds"],
            loss_trace=json.loads(values["loss_trace"]),
            evaluation=json.loads(values["evaluation"]) if values["evaluation"] else None,
            epochs=epochs,
        )

    def update(self, run_id: int, **values) -> None:
        """Set columns of a run (``config``, ``loss_trace`` and ``evaluation`` as Python values)."""
        for key in ("config", "loss_trace", "evaluation"):
            if key in values and not isinstance(values[key], str) and values[key] is not None:
                values[key] = json.dumps(values[key])
        unknown = set(values) - set(Run.__dataclass_fields__) - {"host", "pid"}
        if unknown:
            raise ValueError(f"unknown run columns {sorted(unknown)}")
        columns = ", ".join(f"{k} = ?" for k in values)
        self._write(f"UPDATE runs SET {columns} WHERE id = ?", (*values.values(), run_id))

    def claim(self, run_id: int) -> None:
        """This process runs ``run_id`` from now on (a queued run starts)."""
        self.update(run_id, status="running", started=time.time(), host=socket.gethostname(), pid=os.getpid())

    def rename(self, run_id: int | str, name: str) -> None:
        name = " ".join(name.split())
        if not name or len(name) > 120:
            raise CnnkitError("runs.errors.bad_name")
        self.update(self.get(run_id).id, name=name)

    def add_epoch(self, run_id: int, stats: EpochStats, progress: float) -> None:
        self._write("INSERT OR REPLACE INTO epochs VALUES (?,?,?,?,?,?,?,?)", (run_id, *asdict(stats).values()))
        best = self._read("SELECT MAX(test_accuracy) FROM epochs WHERE run_id = ?", (run_id,))[0][0]
        self.update(run_id, progress=progress, test_accuracy=stats.test_accuracy, best_accuracy=best)

    def truncate_epochs(self, run_id: int, keep: int) -> None:
        """Forget the epochs after ``keep`` (a resumed run redoes them)."""
        self._write("DELETE FROM epochs WHERE run_id = ? AND epoch > ?", (run_id, keep))

    def finish(
        self, run_id: int, status: str, *, reason: dict | None = None, result: TrainResult | None = None
    ) -> None:
        """The run has ended with ``status`` (finished, stopped or failed), why (a message key and its values)
        and, when there is one, its result."""
        values = {"status": status, "reason": json.dumps(reason) if reason else "", "finished": time.time()}
        if result is not None:
            ev = result.evaluation
            values.update(device=result.device, parameters=result.params, seconds=round(result.seconds, 3))
            if ev is not None:
                values.update(test_accuracy=ev.accuracy, evaluation=evaluation_to_dict(ev))
            if status == "finished":
                values["progress"] = 1.0
        self.update(run_id, **values)

    def remove(self, run_id: int | str) -> None:
        run = self.get(run_id)
        if run.status in ("running", "queued"):
            raise CnnkitError("runs.errors.busy", id=run.id)
        self._write("DELETE FROM runs WHERE id = ?", (run.id,))
        shutil.rmtree(self.folder(run.id), ignore_errors=True)

    # ------------------------------------------------------------------ files
    def folder(self, run_id: int) -> Path:
        return self.root / str(run_id)

    def checkpoint_path(self, run_id: int | str, which: str = "best") -> Path:
        run = self.get(run_id)
        for name in (which, *FILES):
            path = self.folder(run.id) / f"{name}.pt"
            if path.is_file():
                return path
        raise CnnkitError("runs.errors.no_checkpoint", id=run.id)

    def load(self, run_id: int | str, which: str = "best") -> Checkpoint:
        """The run's checkpoint (``best`` by test accuracy, or ``last``), named after the run; a message about
        its file calls it ``#3/best.pt``, never by its place on the server."""
        run = self.get(run_id)
        path = self.checkpoint_path(run.id, which)
        ckpt = load_checkpoint(path, f"#{run.id}/{path.name}")
        ckpt.source = f"run {run.id} ({run.title()})"
        return ckpt

    def save_epoch(self, run_id: int, result: TrainResult, resume: Resume, progress: float) -> None:
        """After a finished epoch: ``last.pt``, ``best.pt`` when it is the best so far and ``resume.pt``, all or
        none (a full disk leaves the previous epoch's), then the epoch in the run's row: the run's epochs are
        always those of its files."""
        ckpt = to_bytes(result.to_checkpoint(), "pt")
        accuracies = [e.test_accuracy for e in result.history]
        best = {"best": ckpt} if accuracies[-1] >= max(accuracies) else {}
        state = {
            "model": {k: v.detach().cpu() for k, v in resume.model_state.items()},
            "optimizer": resume.optimizer_state,
            "scheduler": resume.scheduler_state,
            "generator": resume.generator_state,
            "seconds": resume.seconds,
            "history": json.dumps([asdict(e) for e in resume.history]),
        }
        buffer = io.BytesIO()
        torch.save(state, buffer)
        files = {"last": ckpt, **best, "resume": buffer.getvalue()}
        write_all_atomic({self.folder(run_id) / f"{name}.pt": data for name, data in files.items()})
        self.add_epoch(run_id, result.history[-1], progress)

    def save_snapshots(self, run_id: int, snaps: EpochSnapshots) -> None:
        write_atomic(self.folder(run_id) / SNAPSHOTS, snapshots_to_bytes(snaps))

    def snapshots(self, run_id: int) -> EpochSnapshots | None:
        """The run's per-epoch snapshots; None for a run that has none (trained before they were kept)."""
        path = self.folder(run_id) / SNAPSHOTS
        if not path.is_file():
            return None
        try:
            return snapshots_from_bytes(path.read_bytes())
        except Exception:  # a damaged or foreign file: say which run, not a traceback
            raise CnnkitError("runs.errors.bad_snapshots", id=run_id) from None

    def model_files(self, run_id: int) -> list[Path]:
        """The run's model checkpoints that exist (``last.pt``, ``best.pt``)."""
        return [path for path in (self.folder(run_id) / f"{name}.pt" for name in FILES) if path.is_file()]

    def resume_state(self, run_id: int | str) -> Resume:
        """What a run kept to go on training from (``--resume``, the page's Continue); refused for a run that
        cannot go on (``Run.resumable``)."""
        run = self.get(run_id)
        path = self.folder(run.id) / "resume.pt"
        if run.epochs and not run.resumable:
            raise CnnkitError("runs.errors.not_resumable", id=run.id, status=Term(f"runs.states.{run.status}"))
        if not path.is_file():
            raise CnnkitError("runs.errors.no_resume", id=run.id)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            history = [EpochStats(**e) for e in json.loads(state["history"])]
            return Resume(
                model_state=state["model"],
                optimizer_state=state["optimizer"],
                scheduler_state=state["scheduler"],
                generator_state=state["generator"],
                history=history,
                seconds=float(state["seconds"]),
            )
        except Exception:  # a damaged file: say which run, not a traceback
            raise CnnkitError("runs.errors.bad_resume", id=run.id) from None


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def parse_id(value: int | str) -> int:
    """A run id from what a user typed (``12``, ``#12``): ASCII digits within SQLite's integers, else one message
    (``²`` and ``٣`` are digits to Python, not run ids)."""
    text = str(value).strip()
    if not RUN_ID.fullmatch(text) or int(text.lstrip("#")) > MAX_ID:
        raise CnnkitError("runs.errors.bad_id", value=str(value)[:40])
    return int(text.lstrip("#"))


def names_a_run(value: str) -> bool:
    """Whether ``value`` (not a file) is meant as a run id: ``#`` or digits of any script, so that ``²`` gets the
    run-id message rather than a missing file's."""
    return value.strip().lstrip("#").isdigit()


def _process_gone(host: str, pid: int | None) -> bool:
    """Whether the process that ran a run on this machine has ended (it was killed without recording it)."""
    if not pid or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def evaluation_to_dict(ev: Evaluation, keep: int = 200) -> dict:
    """The test evaluation for the store; the most confident mistakes only (``keep``)."""
    return {
        "accuracy": ev.accuracy,
        "loss": ev.loss,
        "per_class": ev.per_class,
        "confusion": ev.confusion,
        "misclassified": ev.misclassified[:keep],
        "predicted": ev.predicted[:keep],
        "confidence": ev.confidence[:keep],
    }


def evaluation_from_dict(values: dict) -> Evaluation:
    return Evaluation(
        values["accuracy"],
        values["loss"],
        values["per_class"],
        values["confusion"],
        values.get("misclassified", []),
        values.get("predicted", []),
        values.get("confidence", []),
    )


def result_reason(result: TrainResult) -> dict | None:
    """Why a run ended early, as a message key and values; None when it completed."""
    if result.status == "stopped":
        return {"key": "runs.reasons.stopped", "values": {"epochs": len(result.history)}}
    if result.divergence:
        return {"key": result.divergence.key, "kind": FailureKind.DIVERGED, "values": result.divergence.values()}
    return None


def error_reason(exc: BaseException) -> dict:
    """An error as a stored reason: the project's message key (with its ``FailureKind``, if it has one), or
    "unexpected" with the exception's type."""
    if isinstance(exc, CnnkitError):
        kind = {"kind": exc.kind} if exc.kind else {}
        return {
            "key": exc.key,
            **kind,
            "values": {k: v if isinstance(v, (int, float, str)) else str(v) for k, v in exc.values.items()},
        }
    if isinstance(exc, KeyboardInterrupt):
        return {"key": "runs.reasons.interrupted", "values": {}}
    return {"key": "runs.reasons.unexpected", "values": {"kind": type(exc).__name__}}


def unended_text(run: Run, lang: str) -> str:
    """What a queued or training run is doing, for a visitor who does not follow it live (another session's run)."""
    planned = run.config.get("epochs", len(run.epochs))
    return text(f"runs.page.others_{run.status}", lang, name=run.title(lang), epochs=len(run.epochs), planned=planned)


def reason_text(reason: dict | None, lang: str) -> str:
    """A stored reason in ``lang``."""
    if not reason:
        return ""
    return CnnkitError(reason["key"], **reason.get("values", {})).message(lang)
