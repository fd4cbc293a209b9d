"""The tree is the architecture: role subpackages, data flowing one way, one door to predict."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HAR = ROOT / "har"

# What each part of har may import (besides itself). Lower layers never import higher ones:
# video -> frames -> model -> prediction, and only the command line sees everything.
BASE = {"har", "config", "errors", "utils"}
ALLOWED = {
    "utils": {"har", "config", "errors"},
    "config": {"errors"},
    "errors": set(),
    "data": BASE,
    "evaluation": BASE,
    "visualization": BASE,
    "models": BASE | {"evaluation"},
    "inference": BASE | {"data", "models", "evaluation"},
    "explain": BASE | {"data", "models", "inference"},
    "training": BASE | {"data", "models", "inference", "evaluation"},
    "cli": BASE | {"data", "models", "inference", "evaluation", "explain", "training"},
}


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def part_of(path: Path) -> str:
    rel = path.relative_to(HAR).with_suffix("")
    return rel.parts[0] if len(rel.parts) > 1 or rel.name != "__init__" else "har"


def test_each_part_of_har_imports_only_the_layers_below_it():
    wrong = []
    for path in HAR.rglob("*.py"):
        part = part_of(path)
        if part == "har":
            continue
        for name in imports(path):
            if name == "har" or not name.startswith("har."):
                continue
            target = name.split(".")[1]
            if target in (part, "__version__"):
                continue
            if target not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(sorted(wrong))


def test_every_part_of_har_has_a_rule():
    parts = {part_of(p) for p in HAR.rglob("*.py")} - {"har"}
    assert parts == set(ALLOWED)


def test_har_never_imports_streamlit_and_modules_stay_readable():
    for path in HAR.rglob("*.py"):
        assert not any(n.split(".")[0] == "streamlit" for n in imports(path)), path
        assert len(path.read_text().splitlines()) <= 520, f"{path} is too long to read at once"


def test_no_module_imports_another_modules_private_names():
    wrong = []
    app = [ROOT / "app_common.py", ROOT / "app_camera.py"]
    for path in [*HAR.rglob("*.py"), *(ROOT / "pages").glob("*.py"), *app]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("har"):
                wrong += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and a.name != "__version__"
                ]
    assert not wrong, "\n".join(wrong)


def test_callers_predict_only_through_the_one_door():
    """Pages, the app's shared code and the CLI predict via har.inference, never on their own."""
    door = {"har.inference.predict_video", "har.inference.load_predictors", "har.inference"}
    app = [ROOT / "app_common.py", ROOT / "app_camera.py"]
    callers = [*(ROOT / "pages").glob("*.py"), *app, *(HAR / "cli").glob("*.py")]
    for path in callers:
        text = path.read_text()
        assert not re.search(r"\.predict\(|(?<![\w.])model\(", text), path
        assert "read_clip(" not in text or path.parent.name == "cli", path
    assert "har.inference.predict_video" in imports(ROOT / "pages" / "1_Predict.py")
    assert imports(HAR / "cli" / "commands.py") & door


def test_har_raises_the_error_that_says_what_went_wrong_not_the_base_class():
    """Every HarError raised in har is a subclass naming its kind (video, dataset, model,
    settings, output, run...), so a caller can tell them apart; the base class is for catching."""
    bare = []
    for path in HAR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "HarError":
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bare, "\n".join(bare)


# describe() is words for a person everywhere in har; a dict for a file is to_dict().


def test_describe_means_words_and_to_dict_means_a_dict():
    wrong = []
    for path in HAR.rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.returns is not None:
                returns = ast.unparse(node.returns)
                if node.name == "describe" and returns != "str":
                    wrong.append(f"{rel}:{node.lineno} describe -> {returns}")
                if node.name == "to_dict" and returns != "dict":
                    wrong.append(f"{rel}:{node.lineno} to_dict -> {returns}")
    assert not wrong, "\n".join(wrong)


# Imported inside a function, never at a module's top: TensorFlow and Keras (seconds, and the
# LiteRT path and `har --help` must not import them), scikit-learn (about 1 s) and LiteRT's
# interpreter (no wheel on some platforms; litert.available() checks). A har module that
# imports one of them at its top counts as one of them.
LAZY = {"tensorflow", "keras", "sklearn", "ai_edge_litert"}


def top_level_imports(path: Path) -> set[str]:
    """What `path` imports at its top (not inside a function or a class)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        for inner in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(inner, ast.Import):
                found.update(a.name for a in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.module:
                found.add(inner.module)
                found.update(f"{inner.module}.{a.name}" for a in inner.names)
    return found


def heavy_modules() -> set[str]:
    """The har modules that import a LAZY library at their top, directly or through har."""
    modules = {}
    for path in HAR.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    tops = {name: top_level_imports(path) for name, path in modules.items()}
    heavy = {m for m, names in tops.items() if any(n.split(".")[0] in LAZY for n in names)}
    while True:  # whatever imports a heavy module (or lives in a heavy package) is heavy too
        more = {
            m
            for m, names in tops.items()
            if m not in heavy and (names & heavy or any(m.startswith(f"{h}.") for h in heavy))
        }
        if not more:
            return heavy
        heavy |= more


def test_function_level_imports_in_har_are_only_of_heavy_modules():
    heavy = heavy_modules()
    assert {"har.models.fast_layers", "har.training.fit"} <= heavy  # the rule sees Keras
    assert "har.inference.predictor" not in heavy and "har.cli.commands" not in heavy
    wrong = []
    for path in HAR.rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                else:
                    continue
                if not any(n.split(".")[0] in LAZY or n in heavy for n in names):
                    wrong.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert not wrong, "move these to the top of their module:\n" + "\n".join(wrong)
