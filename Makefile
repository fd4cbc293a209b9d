# Regenerate everything the repository ships, from scratch and seeded.
# `make models` took 17 minutes on a 2-core CPU on 2026-12-01 (two thirds of it ConvLSTM).
# Uses .venv's Python when it exists (bash scripts/app.sh or scripts/test.sh make it).
PY ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python)
DATA ?= data/synthetic-4

.PHONY: samples data models real-models bench test

samples:
	$(PY) scripts/make_samples.py

data:
	$(PY) -m har.cli synth --out $(DATA) --classes WalkingWithDog TaiChi Swing HorseRace --groups 25 --clips-per-group 4 --seed 0

# The synthetic pair (the demo for the built-in synthetic samples), with the paper's recipe.
models: data
	$(PY) scripts/train_shipped.py --data $(DATA) --recipe paper

# The default models, from real footage: a UCF101 folder with these six classes (or any
# UCF50/UCF101-shaped folder and REAL_CLASSES), e.g. make real-models REAL=../shared/ucf-real
# TRIES=3 trains seeds 1-3 of each and keeps the lowest validation loss (3x the time).
REAL_CLASSES ?= Archery BasketballDunk HorseRace PlayingPiano PlayingViolin Surfing
TRIES ?= 1
real-models:
	@test -n "$(REAL)" || { echo "usage: make real-models REAL=/path/to/UCF101 [TRIES=3]"; exit 2; }
	$(PY) scripts/train_shipped.py --data $(REAL) --classes $(REAL_CLASSES) --suffix ucf6 \
	    --skip-random --seed 27 --train-seed 1 --tries $(TRIES) --dataset-name "UCF101, 6 classes"

bench:
	$(PY) benchmarks/run.py

test:
	$(PY) -m pytest
