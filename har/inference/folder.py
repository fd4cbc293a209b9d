"""Predict a whole archive of videos: parallel decoding, batched models, one row per video.

`har predict DIR_OR_GLOB --out predictions.csv|.jsonl`. Videos are decoded in worker
processes (a bounded number in flight), their clips batched into each model through
har.inference (`decode_video`, `Predictor.predict_batch`: the one door), and each video's
row appended as soon as its batch is done. A rerun skips every video already in the output,
so a killed run resumes; a file that cannot be decoded gets an error row, and the run goes on.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import multiprocessing
import os
import stat
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from har.config import VIDEO_EXTENSIONS
from har.errors import HarError, OutputError, VideoError
from har.inference.prediction import Prediction, agreements
from har.inference.predictor import decode_video
from har.utils.progress import Progress, reporting

FORMATS = (".csv", ".jsonl")
GLOB_CHARS = set("*?[")


def is_archive_target(target: str | Path) -> bool:
    """A folder or a glob pattern (not a single file) means: predict every video in it."""
    text = str(target)
    return Path(text).is_dir() or (bool(GLOB_CHARS & set(text)) and not Path(text).exists())


def find_videos(target: str | Path) -> list[Path]:
    """Video files under a folder (recursively), matching a glob, or the one file given."""
    text = str(target)
    path = Path(text).expanduser()
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS]
    elif path.is_file():
        found = [path]
    elif GLOB_CHARS & set(text):
        found = [Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True)]
        found = [p for p in found if p.suffix.lower() in VIDEO_EXTENSIONS]
    else:
        raise VideoError(f"No such file, folder or pattern: {text}. Check the path.")
    found = sorted({p.resolve() for p in found if p.is_file() and not p.name.startswith(".")})
    if not found:
        raise VideoError(
            f"No video files ({', '.join(VIDEO_EXTENSIONS)}) in {text}; check the path or pattern."
        )
    return found


def _decode(path: str, specs: Sequence) -> tuple[str, dict | None, str]:
    """In a worker process: (path, {sampling: RGB pixels} + facts, "") or (path, None, error)."""
    try:
        clips = decode_video(path, specs)
    except HarError as exc:
        return path, None, _one_line(str(exc))
    except Exception as exc:  # a decoder failure must not stop the archive: report it
        return path, None, _one_line(f"{type(exc).__name__}: {exc}")
    first = next(iter(clips.values()))
    facts = {"frame_count": first.frame_count, "fps": round(float(first.fps), 3)}
    return path, {"pixels": {k: c.pixels for k, c in clips.items()}, **facts}, ""


def _exit_with_parent(parent: int) -> None:
    """In a worker process: exit when the parent is gone (a killed run leaves no orphans)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="har-parent-watch").start()


def _one_line(text: str, limit: int = 2000) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _record(line: str) -> dict | None:
    """A row this command wrote to a .jsonl file, or None."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    ok = isinstance(record, dict) and isinstance(record.get("video"), str) and "status" in record
    return record if ok else None


def check_output_file(path: str | Path) -> None:
    """OutputError unless `path` is absent or a regular file (a FIFO or a device would hang or
    swallow the rows)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"--out {path} cannot be used ({exc.strerror}).") from exc
    if not stat.S_ISREG(mode):
        raise OutputError(f"--out {path} is not a regular file (a folder, pipe or device).")


class RowLog:
    """The output file, appended one row per video; reads back which videos are done.

    Only a file this command wrote is appended to: anything else is refused before a byte
    of it changes. A run killed mid-row leaves at most one partial last line: it is cut off
    on reopening. CSV rows end in CRLF (RFC 4180), so a CR or LF inside a name is quoted.
    """

    def __init__(self, path: str | Path, predictors: dict) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in FORMATS:
            raise OutputError(f"--out must end in .csv or .jsonl, not {self.path.name!r}.")
        self.csv = self.path.suffix.lower() == ".csv"
        self.models = {name: list(p.card.class_names) for name, p in predictors.items()}
        self.columns = ["video", "status", "error", "frame_count", "fps"]
        for name, classes in self.models.items():
            self.columns += [f"{name}.top_class", f"{name}.confidence", f"{name}.uncertain"]
            self.columns += [f"{name}.p.{c}" for c in classes]
        classes = [tuple(sorted(c)) for c in self.models.values()]
        if len(set(classes)) < len(classes):  # models of the same classes: judged together
            self.columns.append("together")
        self.done: set[str] = set()
        check_output_file(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        newline = self._read_back()
        self._fh = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        if newline:
            self._write_line("\n")
        if self.csv and self.path.stat().st_size == 0:
            self._write_line(self._csv_line(self.columns))

    def _not_ours(self, why: str) -> OutputError:
        return OutputError(
            f"{self.path} {why}; it was left as it is. Give a new --out file (or delete it)."
        )

    def _read_back(self) -> bool:
        """Read the videos already done; cut a partial last row. True if the last record
        is whole but lacks its newline (it is kept and the newline added)."""
        if not self.path.exists():
            return False
        data = self.path.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]  # complete lines; the rest is a cut row, or not
        tail = data[len(whole) :]
        text = whole.decode("utf-8", errors="replace")
        keep_tail = False
        if self.csv:
            header = self._csv_line(self.columns)
            first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
            if not whole and header.startswith(first):
                tail = data  # a header cut by a kill: written again
            else:
                if first != header.rstrip("\r\n"):
                    raise self._not_ours(
                        "was written for other models or classes, or by another program"
                    )
                csv.field_size_limit(max(csv.field_size_limit(), len(data)))
                try:
                    rows = list(csv.reader(io.StringIO(text, newline="")))
                except csv.Error as exc:
                    raise self._not_ours(f"is not a CSV this command can read ({exc})") from exc
                self.done = {row[0] for row in rows[1:] if row}
        else:
            for line in text.splitlines():
                record = _record(line)
                if record is None:
                    raise self._not_ours("holds lines that are not this command's records")
                self.done.add(record["video"])
            last = _record(tail.decode("utf-8", errors="replace")) if tail else None
            if last is not None:
                keep_tail = True
                self.done.add(last["video"])
            elif tail and not tail.startswith(b'{"video": '):
                raise self._not_ours("ends in a line that is not this command's record")
        if tail and not keep_tail:  # a row cut by a kill, in our own file: redo that video
            with open(self.path, "r+b") as fh:
                fh.truncate(len(data) - len(tail))
        return keep_tail

    def _csv_line(self, values: Iterable) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(values)
        return buf.getvalue()

    def _write_line(self, line: str) -> None:
        self._fh.write(line)
        self._fh.flush()  # a killed run keeps every finished row

    def write(
        self, video: str, answers: dict[str, Prediction] | None, facts: dict, error: str = ""
    ) -> None:
        """One row: each model's answer (a Prediction, which says whether it is unsure) or an
        error message; models of the same classes are judged together, as on Predict
        ("together": which models, whether they agree, and unsure unless all agree and none
        is unsure)."""
        answers = answers or {}
        together = agreements(answers)
        if self.csv:
            row = {"video": video, "status": "error" if error else "ok", "error": error, **facts}
            for name, answer in answers.items():
                row[f"{name}.top_class"] = answer.top_class
                row[f"{name}.confidence"] = f"{answer.confidence:.6f}"
                row[f"{name}.uncertain"] = str(answer.uncertain).lower()
                for c, p in zip(answer.class_names, answer.probabilities, strict=True):
                    row[f"{name}.p.{c}"] = f"{float(p):.6f}"
            row["together"] = "; ".join(
                f"{'+'.join(a.answers)}: {'agree' if a.agree else 'disagree'}"
                + ("" if a.confident else ", unsure")
                for a in together
            )
            self._write_line(self._csv_line(row.get(c, "") for c in self.columns))
        else:
            row = {"video": video, "status": "error" if error else "ok"}
            if error:
                row["error"] = error
            row.update(facts)
            if answers:
                row["predictions"] = {}
                for name, answer in answers.items():
                    row["predictions"][name] = {
                        "top_class": answer.top_class,
                        "confidence": round(answer.confidence, 6),
                        "uncertain": answer.uncertain,
                        **(
                            {"distance": round(answer.distance, 6)}
                            if answer.distance is not None
                            else {}
                        ),
                        "probabilities": {
                            c: round(float(p), 6)
                            for c, p in zip(answer.class_names, answer.probabilities, strict=True)
                        },
                    }
                if together:
                    row["agreements"] = [a.to_dict() for a in together]
            self._write_line(json.dumps(row) + "\n")
        self.done.add(video)

    def close(self) -> None:
        self._fh.close()


@dataclass
class ArchiveSummary:
    """What a run did: videos found, skipped (already in the output), predicted, failed."""

    found: int
    skipped: int
    predicted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def videos_per_second(self) -> float:
        done = self.predicted + len(self.failed)
        return done / self.seconds if self.seconds > 0 else 0.0


def plan(target: str | Path, out: str | Path | None) -> list[Path]:
    """The videos to predict, once `out` is known to be a .csv or .jsonl file name."""
    if out is None:
        raise OutputError("A folder or pattern needs --out predictions.csv (or .jsonl).")
    if Path(out).suffix.lower() not in FORMATS or Path(out).is_dir():
        raise OutputError(f"--out must be a .csv or .jsonl file, not {str(out)!r}.")
    check_output_file(out)
    return find_videos(target)


def run(videos: Sequence[Path], predictors: dict, out: Path, decoders=None, batch=16) -> int:
    """The CLI's archive mode: predict, list the failures on stderr, print one summary line."""
    s = predict_archive(videos, predictors, out, decoders, batch)
    for video, error in s.failed:
        print(f"failed: {video}: {error}", file=sys.stderr)
    print(
        f"{s.found} videos: {s.predicted} predicted, {len(s.failed)} failed, {s.skipped} "
        f"already in {out}; {s.videos_per_second:.1f} videos/s"
    )
    return 0


def predict_archive(
    target: str | Path | Sequence[Path],
    predictors: dict,
    out: str | Path,
    decoders: int | None = None,
    batch_size: int = 16,
    progress: Progress = True,
) -> ArchiveSummary:
    """Predict every video of `target` with `predictors` ({name: Predictor}) into `out`.

    `decoders` worker processes (default: the cores) decode; at most 2 x decoders + batch
    videos are in flight. Rows are appended in the order videos finish, not the input order.
    """
    videos = find_videos(target) if isinstance(target, str | Path) else list(target)
    log = RowLog(out, predictors)
    todo = [str(v) for v in videos if str(v) not in log.done]
    summary = ArchiveSummary(found=len(videos), skipped=len(videos) - len(todo))
    models = list(predictors.values())
    specs = [p.spec for p in models]
    decoders = max(1, min(decoders or os.cpu_count() or 1, len(todo) or 1))
    window = 2 * decoders + batch_size
    start = time.perf_counter()
    batch: list[tuple[str, dict]] = []

    def flush() -> None:
        if not batch:
            return
        outputs = {
            p: p.score_batch(np.stack([d["pixels"][p.spec.sampling] for _, d in batch]))
            for p in models
        }
        for i, (video, decoded) in enumerate(batch):
            facts = {k: v for k, v in decoded.items() if k != "pixels"}
            answers = {
                p.name: p.prediction(probs[i], None if dist is None else dist[i])
                for p, (probs, dist) in outputs.items()
            }
            log.write(video, answers, facts)
            advance()
        summary.predicted += len(batch)
        batch.clear()

    # spawn: the parent holds TensorFlow's threads, which a forked child must not inherit.
    context = multiprocessing.get_context("spawn")
    try:
        with (
            reporting(progress, len(todo), "videos", "video") as advance,
            ProcessPoolExecutor(
                decoders, mp_context=context, initializer=_exit_with_parent, initargs=(os.getpid(),)
            ) as pool,
        ):
            queue = iter(todo)
            pending: set[Future] = set()

            def refill() -> None:
                while len(pending) < window:
                    video = next(queue, None)
                    if video is None:
                        return
                    pending.add(pool.submit(_decode, video, specs))

            refill()
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    video, decoded, error = future.result()
                    if decoded is None:
                        log.write(video, None, {}, error)
                        summary.failed.append((video, error))
                        advance()
                    else:
                        batch.append((video, decoded))
                refill()
                if len(batch) >= batch_size or not pending:
                    flush()
            flush()
    except BrokenProcessPool as exc:
        raise VideoError(
            "A decoder process died (a file crashed the video decoder); the rows written so "
            "far are kept, and a rerun resumes after them."
        ) from exc
    finally:
        log.close()
    summary.seconds = time.perf_counter() - start
    return summary
