"""UCF50-shaped folders: classes, clips and group-aware splits (frames: har.frames).

Layout: <root>/<Class>/v_<Class>_gNN_cMM.<ext>. Clips of one group share actor, background
and viewpoint, so the honest split holds whole groups out (mode "group", the default);
"random" is the paper's shuffled 75/25, which lets a group's clips land on both sides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from har.config import (
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    VIDEO_EXTENSIONS,
)
from har.errors import DatasetError

CLIP_NAME = re.compile(r"^v_(?P<cls>.+)_g(?P<group>\d+)_c(?P<clip>\d+)$")


SPLIT_MODES = ("group", "random")


FRAME_SIZE = (IMAGE_WIDTH, IMAGE_HEIGHT)


@dataclass(frozen=True)
class ClipRef:
    path: Path
    label: str
    group: int
    clip: int


@dataclass(frozen=True)
class Dataset:
    root: Path
    classes: list[str]
    clips: list[ClipRef]
    skipped: tuple[str, ...] = ()  # video files in class folders not named like UCF50 clips
    reasons: tuple[str, ...] = ()  # why each of `skipped` was skipped, in the same order
    empty: tuple[str, ...] = ()  # class folders with no usable clip (not in `classes`)

    def problems(self) -> list[tuple[str, str]]:
        """(file, reason) for every video file the scan could not use."""
        return list(zip(self.skipped, self.reasons, strict=False))

    def subset(self, classes: Sequence[str]) -> Dataset:
        """Only `classes`, in the order given (which becomes the models' output order)."""
        chosen = list(dict.fromkeys(classes))
        empty = [c for c in chosen if c in self.empty]
        if empty:
            raise DatasetError(
                f"Class folder{'s' if len(empty) > 1 else ''} {', '.join(empty)} in {self.root} "
                f"{'have' if len(empty) > 1 else 'has'} no clips named v_<Class>_gNN_cMM.<ext>; "
                "add clips, fix their names, or choose other classes."
            )
        unknown = [c for c in chosen if c not in self.classes]
        if unknown:
            raise DatasetError(
                f"Unknown class{'es' if len(unknown) > 1 else ''} {', '.join(unknown)} in "
                f"{self.root}; choose from: {', '.join(self.classes)}."
            )
        if len(chosen) < 2:
            raise DatasetError(
                "Pick at least two classes: a classifier needs something to tell apart."
            )
        wanted = set(chosen)
        clips = [c for c in self.clips if c.label in wanted]
        return Dataset(self.root, chosen, clips, self.skipped, self.reasons, self.empty)


def scan(root: str | Path) -> Dataset:
    """Read a UCF50-shaped folder; DatasetError says what is wrong with a malformed one.

    Lenient: video files whose names do not follow v_<Class>_gNN_cMM.<ext> (or name another
    class) are skipped and listed with a reason in Dataset.skipped / reasons, and class
    folders without a usable clip in Dataset.empty; they only matter if a run selects them.
    Other files, hidden folders and __MACOSX are ignored.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"Dataset folder {root} does not exist; check the path.")
    if not root.is_dir():
        raise DatasetError(
            f"{root} is a file; point at the folder that holds one folder per class."
        )
    class_dirs = sorted(
        d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__"))
    )
    if not class_dirs:
        raise DatasetError(
            f"{root} has no class folders; expected <root>/<Class>/v_<Class>_gNN_cMM.avi."
        )
    classes: list[str] = []
    clips: list[ClipRef] = []
    skipped: list[str] = []
    reasons: list[str] = []
    empty: list[str] = []
    for class_dir in class_dirs:
        found = []
        for f in sorted(class_dir.iterdir()):
            if not f.is_file() or f.suffix.lower() not in VIDEO_EXTENSIONS:
                continue
            m = CLIP_NAME.match(f.stem)
            # UCF-style names sometimes differ from the folder in case only (HandStandPushups).
            if not m or m["cls"].lower() != class_dir.name.lower():
                skipped.append(f.relative_to(root).as_posix())
                reasons.append(
                    "not named v_<Class>_gNN_cMM"
                    if not m
                    else f"named for class {m['cls']}, not {class_dir.name}"
                )
                continue
            found.append(ClipRef(f, class_dir.name, int(m["group"]), int(m["clip"])))
        if found:
            classes.append(class_dir.name)
            clips.extend(found)
        else:
            empty.append(class_dir.name)
    if not clips:
        raise DatasetError(
            f"No clips named like UCF50 (v_<Class>_gNN_cMM.avi) in the class folders of {root}"
            + (f" ({len(skipped)} video files with other names)." if skipped else ".")
        )
    if len(classes) < 2:
        raise DatasetError(f"{root} has clips for only one class ({classes[0]}); need two or more.")
    return Dataset(root, classes, clips, tuple(skipped), tuple(reasons), tuple(empty))


@dataclass(frozen=True)
class Split:
    train: list[ClipRef]
    val: list[ClipRef]
    test: list[ClipRef]
    mode: str
    seed: int


def _order(clip: ClipRef) -> tuple:
    return (clip.label, clip.group, clip.clip, str(clip.path))


def split_clips(
    clips: Sequence[ClipRef],
    mode: str = "group",
    test_fraction: float = 0.25,
    val_fraction: float = 0.2,
    seed: int = 27,
) -> Split:
    """Train / validation / test, deterministic for a seed and independent of input order.

    "group" (default): per class, about test_fraction of its groups go to test and
    val_fraction of the remaining groups to validation, whole, so no (label, group) pair is
    in two parts. "random": the paper's shuffled split (scikit-learn, stratified by class),
    then val_fraction of the train part held for validation.
    """
    if mode not in SPLIT_MODES:
        raise DatasetError(f"Unknown split mode {mode!r}; choose 'group' or 'random'.")
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1:
        raise DatasetError(
            f"Split fractions must be between 0 and 1 (test {test_fraction}, val {val_fraction})."
        )
    clips = sorted(clips, key=_order)
    if len({c.label for c in clips}) < 2:
        raise DatasetError("A split needs clips of at least two classes.")
    if mode == "group":
        train, val, test = _group_split(clips, test_fraction, val_fraction, seed)
    else:
        train, val, test = _random_split(clips, test_fraction, val_fraction, seed)
    return Split(train, val, test, mode, seed)


def _group_split(clips, test_fraction, val_fraction, seed):
    # One generator for all classes, drawn in sorted class order: the split that models
    # already trained record by (mode, seed), so keep it stable.
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    need = 3 if val_fraction > 0 else 2
    for label in sorted({c.label for c in clips}):
        own = [c for c in clips if c.label == label]
        groups = sorted({c.group for c in own})
        if len(groups) < need:
            raise DatasetError(
                f"Class {label} has {len(groups)} group(s); a group split needs at least {need} "
                "(train, validation, test). Add clips of other groups or use the random split."
            )
        order = [groups[i] for i in rng.permutation(len(groups))]
        n_test = min(max(1, round(len(groups) * test_fraction)), len(groups) - need + 1)
        n_val = 0
        if val_fraction > 0:
            n_val = min(
                max(1, round((len(groups) - n_test) * val_fraction)), len(groups) - n_test - 1
            )
        test_g, val_g = set(order[:n_test]), set(order[n_test : n_test + n_val])
        test += [c for c in own if c.group in test_g]
        val += [c for c in own if c.group in val_g]
        train += [c for c in own if c.group not in test_g and c.group not in val_g]
    return tuple([part[i] for i in rng.permutation(len(part))] for part in (train, val, test))


def _random_split(clips, test_fraction, val_fraction, seed):
    from sklearn.model_selection import train_test_split  # about 1 s to import: when used

    counts = Counter(c.label for c in clips)
    need = 3 if val_fraction > 0 else 2
    few = sorted(label for label, k in counts.items() if k < need)
    if few:
        raise DatasetError(
            f"Class{'es' if len(few) > 1 else ''} {', '.join(few)} "
            f"{'have' if len(few) > 1 else 'has'} fewer than {need} clips; a stratified split "
            "needs more. Add clips or leave the class out."
        )
    try:
        train, test = train_test_split(
            clips,
            test_size=test_fraction,
            shuffle=True,
            random_state=seed,
            stratify=[c.label for c in clips],
        )
        val = []
        if val_fraction > 0:
            train, val = train_test_split(
                train,
                test_size=val_fraction,
                shuffle=True,
                random_state=seed,
                stratify=[c.label for c in train],
            )
    except ValueError as exc:  # too few clips for the stratified sizes
        raise DatasetError(
            f"Cannot split {len(clips)} clips of {len(counts)} classes "
            f"{test_fraction:.0%} test / {val_fraction:.0%} validation: {exc} "
            "Add clips or choose fewer classes."
        ) from exc
    return sorted(train, key=_order), sorted(val, key=_order), sorted(test, key=_order)
