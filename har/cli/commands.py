"""The `har` subcommands: each checks its inputs, then works (TensorFlow is imported only by
the code that needs it, so `har --help` and LiteRT predictions start without it)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from dataclasses import replace
from pathlib import Path

from har.cli.output import ProgressListener, print_report, report_skipped
from har.config import SHIPPED_MODELS_DIR, user_models_dir
from har.data.encode import save_frames
from har.data.samples import is_builtin_sample
from har.data.synthetic import generate_dataset
from har.data.video import read_clip
from har.errors import HarError, ModelError, OutputError, SettingsError
from har.explain.report import explain_clips, write_explanation
from har.explain.timeline import timeline
from har.inference import folder
from har.inference.prediction import RUNTIME_NAMES
from har.inference.predictor import Predictor, load_predictors, predict_video
from har.models.card import describe, trained_on
from har.models.export import export_model
from har.models.keras2_import import import_legacy
from har.models.registry import (
    check_name,
    check_writable,
    default_models,
    list_models,
    save_model,
    slugify,
    update_card,
)
from har.training import distribute
from har.training.experiment import calibrate_on, evaluate_on, prepare_data, train_and_evaluate
from har.training.recipe import TrainConfig
from har.training.tries import check_tries
from har.utils.files import check_input_file, check_writable_folder
from har.utils.quiet import import_tensorflow
from har.utils.text import ordinal


def cmd_predict(args: argparse.Namespace) -> int:
    many = args.out is not None or folder.is_archive_target(args.video)
    if many:
        videos = folder.plan(args.video, args.out)  # fails in milliseconds too
    else:
        check_input_file(args.video)  # a wrong path fails here, in milliseconds
    names = _default_models(args.models, None if many else args.video)
    # no TensorFlow import here: models cached for LiteRT run without it (har.litert)

    if many:
        return folder.run(videos, load_predictors(names), args.out, args.decoders, args.batch)
    predictors = load_predictors(names)
    cards = {name: p.card for name, p in predictors.items()}
    result = predict_video(args.video, predictors)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0

    clip = result.clip_for()
    note = f" (padded: fewer than {len(clip.indices)} frames)" if clip.padded else ""
    print(
        f"{args.video}: {clip.frame_count} frames at {clip.fps:.1f} fps, "
        f"sampled {clip.indices[0]}..{clip.indices[-1]}{note}"
    )
    for prediction in result.predictions.values():
        tag = f"  [{trained_on(cards[prediction.model_name])}]"
        print(
            f"\n{prediction.model_name} ({prediction.architecture}){tag}, "
            f"{prediction.model_seconds * 1000:.1f} ms on {RUNTIME_NAMES[prediction.runtime]}"
        )
        for cls, prob in prediction.ranked()[: args.top]:
            print(f"  {cls:<20} {prob:6.1%}")
        if prediction.uncertain:
            print(f"  unsure: {prediction.unsure_reason()}")
    for agreement in result.agreements():
        print(f"\n{'' if agreement.agree else 'unsure: '}{agreement.describe()}")
    return 0


def _default_models(models: list[str] | None, video=None) -> list[str]:
    """The models asked for; else the shipped real pair, or for a built-in synthetic sample
    the synthetic pair (the real pair never saw drawn figures), saying so on stderr."""
    if models:
        return models

    shipped = [c.name for c in list_models() if (SHIPPED_MODELS_DIR / f"{c.name}.keras").exists()]
    synthetic = video is not None and is_builtin_sample(video)
    names = default_models(shipped, synthetic_clip=synthetic)
    if not names:
        raise ModelError("No models found; train one with `har train` or pass --model PATH.")
    if synthetic:
        print(
            f"A built-in sample (synthetic clip): answered by {', '.join(names)}; "
            "--model NAME picks others.",
            file=sys.stderr,
        )
    return names


def cmd_timeline(args: argparse.Namespace) -> int:
    check_input_file(args.video)
    (window, unit), stride = args.window, args.stride
    if stride is not None and stride[1] != unit:
        raise SettingsError(
            "Give --window and --stride in the same unit (both seconds or both frames)."
        )
    names = _default_models(args.models, args.video)

    result = timeline(
        args.video,
        load_predictors(names),
        window=window,
        stride=None if stride is None else stride[0],
        unit=unit,
        progress=True,
    )
    if result.note:  # the window cap raised the stride
        print(result.note, file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    if args.csv:
        rows = result.rows()
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return 0
    print(
        f"{args.video}: {result.frame_count} frames, {result.duration:.1f} s; "
        f"{len(result.bounds)} windows of {result.window / result.rate:.2f} s every "
        f"{result.stride / result.rate:.2f} s"
    )
    agree = result.agreement()
    for k, (start, end) in enumerate(zip(result.starts, result.ends, strict=True)):
        answers = "  ".join(
            f"{m}: {result.top_classes(m)[k]} {result.confidences(m)[k]:4.0%}"
            for m in result.probabilities
        )
        mark = "" if len(result.probabilities) < 2 else ("  agree" if agree[k] else "  DIFFER")
        print(f"{start:7.2f}-{end:7.2f} s  {answers}{mark}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    check_input_file(args.video)
    if args.out.exists() and not args.out.is_dir():
        raise OutputError(f"--out {args.out} is a file; give a folder for the explanation files.")
    check_writable_folder(args.out)  # before 20 s of work, not after
    names = _default_models(args.models, args.video)
    import_tensorflow()

    predictors = load_predictors(names)
    result = predict_video(args.video, predictors)
    clips = {n: result.clip_for(n) for n in predictors}
    explanations = explain_clips(predictors, {n: c.pixels for n, c in clips.items()})
    paths = write_explanation(
        explanations, args.out, str(args.video), {n: c.indices for n, c in clips.items()}
    )
    for name, e in explanations.items():
        worst = int(e.occlusion.drops.argmax())
        print(
            f"{name}: {e.occlusion.class_name} {e.occlusion.probability:.0%}; "
            f"{e.saliency.describe()}; frame {worst} matters most "
            f"(-{e.occlusion.drops[worst]:.1%} when occluded)"
        )
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:

    # Everything a user can get wrong is checked before any frame is extracted.
    config = TrainConfig(
        architecture=args.architecture,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        patience=args.patience,
        seed=args.seed,
        recipe=args.recipe,
    ).validate()
    strategy_name = None if args.strategy == "default" else args.strategy
    check_tries(args.tries, args.seed, strategy_name)
    directory = check_writable(args.out)
    name = check_name(
        args.name or slugify(f"{args.architecture}-{args.data.resolve().name}"),
        directory,
        args.overwrite,
    )

    strategy = distribute.make_strategy(args.strategy)  # before TensorFlow's first op
    import_tensorflow()

    data = prepare_data(
        args.data,
        args.classes,
        split_mode=args.split,
        seed=args.seed,
        workers=args.workers,
        strict=args.strict,
        shard=distribute.worker_shard(strategy),
        train_frames=config.train_frames,
    )
    report_skipped(data)
    print(
        f"{len(data.class_names)} classes, split '{args.split}': "
        f"{len(data.x_train)} train / {len(data.x_val)} val / {len(data.x_test)} test clips"
    )
    if strategy is not None:
        print(distribute.summary(strategy, config.batch_size))
    result, report, card = train_and_evaluate(
        data, config, name, listener=ProgressListener(), strategy=strategy, tries=args.tries
    )
    distribute.dump_weights(result.model, distribute.worker_shard(strategy))
    if not distribute.is_chief(strategy):
        print(f"\nworker done after {result.epochs_run} epochs; the chief saves the model")
        return 0
    path = save_trained(result.model, card, directory, args.overwrite)
    if args.tries > 1:
        tries = card.training["selection"]["tries"]
        losses = ", ".join(f"seed {t['seed']}: {t['best_val_loss']}" for t in tries)
        print(f"\nbest validation loss per try ({losses}); kept seed {result.config.seed}")
    print(
        f"\nstopped after {result.epochs_run} epochs"
        f"{' (early stopping, best weights restored)' if result.stopped_early else ''}"
    )
    print_report(report, f"test split ({args.split}, {len(data.x_test)} clips)")
    print(f"saved {path}")
    return 0


def save_trained(model, card, directory: Path, overwrite: bool) -> Path:
    """Save a finished run; if its name was taken meanwhile, save under a dated name instead."""
    try:
        return save_model(model, card, directory, overwrite=overwrite)
    except (HarError, OSError) as exc:
        fallback = f"{card.name[:40]}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        for place in (directory, user_models_dir()):
            try:
                path = save_model(model, replace(card, name=fallback), place)
            except (HarError, OSError):
                continue
            print(f"warning: could not save as {card.name!r} ({exc}); saved as {fallback!r}")
            return path
        raise


def cmd_evaluate(args: argparse.Namespace) -> int:
    predictor = Predictor.from_registry(args.model_name)
    split = args.split or predictor.card.split.get("mode", "group")
    seed = args.seed if args.seed is not None else predictor.card.split.get("seed", 27)
    data = prepare_data(
        args.data, predictor.card.class_names, split_mode=split, seed=seed, strict=args.strict
    )
    report_skipped(data)
    report = evaluate_on(predictor, data)
    if args.json:
        print(
            json.dumps(
                {
                    "model": predictor.card.name,
                    "data": str(args.data),
                    "split": split,
                    "seed": seed,
                    **report.to_dict(),
                },
                indent=2,
            )
        )
    else:
        print_report(
            report,
            f"{predictor.card.name} on {args.data} test split "
            f"({split}, seed {seed}, {len(data.x_test)} clips)",
        )
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    predictor = Predictor.from_registry(args.model_name)
    card = predictor.card
    split = args.split or card.split.get("mode", "group")
    seed = args.seed if args.seed is not None else card.split.get("seed", 27)
    data = prepare_data(args.data, card.class_names, split_mode=split, seed=seed)
    report_skipped(data)
    card.calibration = calibrate_on(predictor, data)
    path = update_card(predictor.path, card)
    test = card.calibration["test"]
    print(
        f"{card.name}: temperature {card.calibration['temperature']}, uncertain below "
        f"{card.calibration['uncertain_below']:.1%} ({card.calibration['fitted_on']}); on "
        f"{test['num_clips']} test clips calibration error {test['ece_before']:.3f} -> "
        f"{test['ece_after']:.3f}. Saved in {path}."
    )
    novelty = card.calibration.get("novelty")
    if novelty:
        print(
            f"Unsure too when a clip is further than {novelty['distance_above']} from its "
            f"{ordinal(novelty['k'])}-nearest of the {novelty['reference_clips']} training clips; "
            f"flagged on the test clips: {test['flagged']['right']:.0%} of right answers, "
            f"{test['flagged']['wrong']:.0%} of wrong ones."
        )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    cards = list_models()
    if args.json:
        print(json.dumps([listed(card) for card in cards], indent=2))
        return 0
    if not cards:
        print("No models found. Train one with `har train`, or run `make models`.")
        return 0
    for card in cards:
        print(f"{card.name:<24} {describe(card)}")
    return 0


def listed(card) -> dict:
    """A card as `har models --json` lists it: whole, but for an LRCN's reference features
    (tens of KB of base64 that only the novelty check reads; they stay in the card's file)."""
    data = card.to_dict()
    novelty = data.get("calibration", {}).get("novelty")
    if isinstance(novelty, dict) and "reference" in novelty:
        novelty = {k: v for k, v in novelty.items() if k != "reference"}
        data["calibration"] = {**data["calibration"], "novelty": novelty}
    return data


def cmd_frames(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise OutputError(f"--out {args.out} is a file; give a folder for the frame images.")
    clip = read_clip(args.video)
    paths = save_frames(clip, args.out, fmt=args.format)
    print(f"wrote {len(paths)} frames to {args.out} (source frames {clip.indices})")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    out = generate_dataset(
        args.out,
        classes=args.classes,
        groups=args.groups,
        clips_per_group=args.clips_per_group,
        difficulty=args.difficulty,
        seed=args.seed,
        workers=args.workers,
        progress=True,
    )
    print(f"synthetic dataset in {out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    import_tensorflow()

    card = import_legacy(args.h5, args.classes, name=args.name, color=args.color)
    frames, height, width, _ = card.input_shape
    print(
        f"imported {args.h5.name} as {card.name!r} ({card.architecture}, "
        f"{card.parameters:,} params): {frames} frames of {width}x{height} "
        f"{card.color_order} {card.scaling}, classes {' '.join(card.class_names)}"
    )
    for line in card.source.get("conversions", []):
        print(f"  converted: {line}")
    print(f"saved {card.path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import_tensorflow()

    path = export_model(args.model_name, args.fmt, args.out)
    print(f"exported {args.model_name} as {args.fmt} to {path}")
    return 0
