"""The models and sample clips the repository ships: they load, and they get the samples right."""

from __future__ import annotations

import json

import pytest

from har.config import PAPER_CLASSES, SAMPLES_DIR
from har.data.samples import list_samples
from har.inference import Predictor, predict_video
from har.models.registry import load_model

PAPER_PARAMETERS = {"convlstm-paper4": 44_524, "lrcn-paper4": 73_060}


@pytest.fixture(scope="module", params=sorted(PAPER_PARAMETERS))
def predictor(request) -> Predictor:
    return Predictor.from_registry(request.param)


def test_shipped_model_matches_its_card_and_the_paper(predictor):
    card = predictor.card
    assert card.shipped
    assert card.class_names == list(PAPER_CLASSES)
    assert predictor.model.count_params() == card.parameters == PAPER_PARAMETERS[card.name]
    assert card.synthetic and "synthetic" in card.notes and "real footage" in card.notes
    assert card.split["mode"] == "group"
    assert 0.5 < card.metrics["test"]["accuracy"] < 1.0  # learned, and not a trivial dataset


def test_shipped_model_predicts_the_samples_of_its_classes(predictor):
    samples = list_samples()
    clips = [(cls, path) for cls in PAPER_CLASSES for path in samples[cls]]
    assert len(clips) == 8
    answers = [
        (cls, predict_video(path, [predictor]).predictions[predictor.name]) for cls, path in clips
    ]
    right = [cls for cls, p in answers if p.top_class == cls]
    # every class recognised at least once, and about as often as the card's test accuracy
    # says (75-88 % on the group split: 6 or 7 of these 8), far above chance (2 of 8)
    assert set(right) == set(PAPER_CLASSES), f"{predictor.card.name} got only {right} right"
    assert len(right) >= 6, f"{predictor.card.name} got only {right} right"


def test_samples_are_small_browser_playable_clips_of_every_class():
    from har.data.previews import is_browser_playable
    from har.data.synthetic import SYNTHETIC_CLASSES

    samples = list_samples()
    assert sorted(samples) == sorted(SYNTHETIC_CLASSES)
    files = [p for paths in samples.values() for p in paths]
    assert all(is_browser_playable(p) for p in files)
    assert sum(p.stat().st_size for p in SAMPLES_DIR.iterdir()) < 3_000_000


def test_model_and_card_load_in_safe_mode():
    model, card = load_model("lrcn-paper4")
    assert card.name == "lrcn-paper4" and model.name == "lrcn"


# The real pair: the paper's Tables 2 and 3 with 6 outputs, trained on real UCF101 footage.
UCF6 = ["Archery", "BasketballDunk", "HorseRace", "PlayingPiano", "PlayingViolin", "Surfing"]
REAL_PARAMETERS = {"convlstm-ucf6": 50_286, "lrcn-ucf6": 73_126}


@pytest.mark.parametrize("name", sorted(REAL_PARAMETERS))
def test_the_real_pair_is_the_papers_tables_trained_on_real_footage(name):
    from har.models.card import card_markdown, trained_on

    model, card = load_model(name)
    assert card.shipped and not card.synthetic
    assert card.class_names == UCF6
    assert model.count_params() == card.parameters == REAL_PARAMETERS[name]
    assert trained_on(card) == "trained on real footage (UCF101, 6 classes)"
    # which groups of each class went where: no group on two sides
    groups = card.split["groups"]
    for cls in UCF6:
        train, val, test = (set(groups[part][cls]) for part in ("train", "val", "test"))
        assert train and val and test and not (train & val or train & test or val & test)
    assert card.split["mode"] == "group" and card.split["test"] == card.metrics["test"]["num_clips"]
    assert card.training["recipe"] == "augment"
    assert 0.6 < card.metrics["test"]["accuracy"] <= 1.0  # far above chance (1/6) on real clips
    assert card.calibration["temperature"] > 0 and 0 < card.calibration["uncertain_below"] < 1
    text = card_markdown(card)
    assert "UCF101, 6 classes" in text and "augment" in text


def test_the_real_pair_answers_by_default_and_the_synthetic_pair_the_builtin_samples(tmp_path):
    from har.data.samples import is_builtin_sample
    from har.models.registry import DEMO_PAIR, REAL_PAIR, default_models

    names = ["lrcn-paper4", "convlstm-paper4", "lrcn-ucf6", "convlstm-ucf6", "mine"]
    assert default_models(names) == list(REAL_PAIR)
    assert default_models(names, synthetic_clip=True) == list(DEMO_PAIR)
    assert default_models(["mine", "lrcn-paper4"]) == ["lrcn-paper4"]  # what is installed
    assert default_models(["a", "b", "c"]) == ["a", "b"]
    sample = next(iter(list_samples().values()))[0]
    assert is_builtin_sample(sample) and not is_builtin_sample(tmp_path / sample.name)


def train_shipped_script():
    """scripts/train_shipped.py (what `make models` and `make real-models` run) as a module."""
    import importlib.util

    from har.config import REPO_ROOT

    spec = importlib.util.spec_from_file_location(
        "train_shipped", REPO_ROOT / "scripts" / "train_shipped.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_retraining_one_shipped_model_keeps_the_others_figures(tmp_path):
    """`train_shipped.py --models lrcn` rewrites the LRCN's row of results-<suffix>.md and keeps
    the ConvLSTM's, which it did not retrain."""
    script = train_shipped_script()
    head = "| model | split | test clips | accuracy | macro F1 | epochs |\n| --- | --- |\n"
    results = tmp_path / "results-ucf6.md"
    results.write_text(
        head + "| lrcn-ucf6 | group | 145 | 91.7% | 0.919 | 76 |\n"
        "| convlstm-ucf6 | group | 145 | 80.0% | 0.794 | 40 |\n"
    )
    table = head + "| lrcn-ucf6 | group | 145 | 90.3% | 0.901 | 60 |\n"
    merged = script.keep_other_rows(table, results, {"lrcn-ucf6"}).splitlines()
    assert merged[2:] == [
        "| lrcn-ucf6 | group | 145 | 90.3% | 0.901 | 60 |",
        "| convlstm-ucf6 | group | 145 | 80.0% | 0.794 | 40 |",
    ]
    assert script.keep_other_rows(table, tmp_path / "none.md", {"lrcn-ucf6"}) == table


@pytest.mark.slow  # two one-epoch trainings
def test_make_real_models_with_tries_saves_the_kept_run_with_its_card(tiny, tmp_path, monkeypatch):
    """`make real-models ... TRIES=2`, on a tiny folder and one epoch: the script trains two
    seeds, saves one model whose card lists both tries, and writes the results table."""
    argv = ["train_shipped.py", "--data", str(tiny), "--classes", "Swing", "Punch"]
    argv += ["--suffix", "tiny", "--models", "lrcn", "--skip-random", "--seed", "27"]
    argv += ["--train-seed", "1", "--tries", "2", "--epochs", "1", "--out", str(tmp_path)]
    monkeypatch.setattr("sys.argv", argv)
    assert train_shipped_script().main() == 0
    card = json.loads((tmp_path / "lrcn-tiny.json").read_text())
    selection = card["training"]["selection"]
    assert [t["seed"] for t in selection["tries"]] == [1, 2]
    assert card["training"]["seed"] == selection["chosen_seed"] and card["split"]["seed"] == 27
    assert "Kept the run of seed" in (tmp_path / "lrcn-tiny.md").read_text()
    assert (tmp_path / "lrcn-tiny.keras").exists()
    assert "| lrcn-tiny | group |" in (tmp_path / "results-tiny.md").read_text()
