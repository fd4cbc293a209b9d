"""
Title: The paper in one page: read a clip, build the LRCN, train it, predict through the door
Description: HAR Studio's pieces in the order the paper uses them, on a tiny synthetic set.

    python examples/paper_walkthrough.py [--out DIR] [--epochs N]

Runs in about a minute on a laptop CPU; needs no download (the clips are drawn here).
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from har.data.synthetic import generate_dataset
from har.data.video import read_clip
from har.inference import Predictor, predict_video
from har.models.architectures import build_lrcn
from har.training.experiment import prepare_data, train_and_evaluate
from har.training.recipe import TrainConfig

"""
## Setup

The paper's input: 20 frames spread evenly over the whole video, each 64x64 RGB, scaled to
[0, 1]. Two of the built-in synthetic classes (drawn figures, not real video) keep this fast.
"""

SEQUENCE_LENGTH = 20
IMAGE_SIZE = (64, 64)
CLASSES = ["TaiChi", "JumpingJack"]
GROUPS = 4  # clips of one group share actor and scene, like UCF50's groups
CLIPS_PER_GROUP = 2
EPOCHS = 2


def main(out: Path, epochs: int = EPOCHS) -> dict:
    """
    ## Data

    A UCF50-shaped folder: `<root>/<Class>/v_<Class>_gNN_cMM.mp4`.
    """
    root = generate_dataset(
        out / "data", CLASSES, groups=GROUPS, clips_per_group=CLIPS_PER_GROUP, progress=False
    )

    """
    ## Read one clip the paper's way

    window = frames // 20, frame i at i * window: the whole video, evenly.
    """
    video = root / CLASSES[0] / f"v_{CLASSES[0]}_g01_c01.mp4"
    clip = read_clip(video, SEQUENCE_LENGTH, IMAGE_SIZE)
    print(f"{video.name}: {clip.frame_count} frames, the models see {clip.indices}")
    print(f"pixels {clip.pixels.shape} {clip.pixels.dtype}, as the model takes them: x / 255")

    """
    ## The LRCN, Table 3 of the paper

    A small CNN on every frame (TimeDistributed), then an LSTM over the 20 frame features.
    """
    model = build_lrcn(num_classes=len(CLASSES))
    model.summary(line_length=100)

    """
    ## Train

    The group split holds whole groups out, so no actor or scene is in both train and test.
    `train_and_evaluate` fits with the recipe (here the paper's), tests, calibrates the
    confidences on the validation clips, and writes the model card.
    """
    data = prepare_data(root, CLASSES, split_mode="group", seed=27, progress=False)
    config = TrainConfig("lrcn", recipe="paper", epochs=epochs, batch_size=4)
    result, report, card = train_and_evaluate(data, config, name="walkthrough-lrcn")
    print(f"{result.epochs_run} epochs, test accuracy {report.accuracy:.0%} on {report.num_clips}")

    """
    ## Predict through the one door

    Every caller (the app, the CLI, Evaluate) predicts this way: decode once, sample the
    frames the model's card asks for, calibrated probabilities, an honest "unsure".
    """
    predictor = Predictor.from_model(result.model, card)
    answer = predict_video(video, [predictor]).predictions[card.name]
    print(f"{video.name}: {answer.top_class} ({answer.confidence:.0%})")
    for name, probability in answer.ranked():
        print(f"  {name:<12} {probability:6.1%}")
    if answer.uncertain:
        print(f"  unsure: below {answer.uncertain_below:.0%}, none of its classes fits well")
    return {
        "indices": clip.indices,
        "frame_count": clip.frame_count,
        "probabilities": np.asarray(answer.probabilities),
        "classes": answer.class_names,
        "epochs_run": result.epochs_run,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="where the clips go (default: a temp folder)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    if args.out:
        main(args.out, args.epochs)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp), args.epochs)
