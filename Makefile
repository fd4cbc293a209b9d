# Regenerate everything the repository ships, from scratch and seeded.
# `make models` took 17 minutes on a 2-core CPU on 2026-12-01 (two thirds of it ConvLSTM).
PY ?= python
DATA ?= data/synthetic-4
DATA10 ?= data/synthetic-10

.PHONY: samples data models bench test

samples:
	$(PY) scripts/make_samples.py

data:
	har synth --out $(DATA) --classes WalkingWithDog TaiChi Swing HorseRace --groups 25 --clips-per-group 4 --seed 0

models: data
	$(PY) scripts/train_shipped.py --data $(DATA)

bench:
	$(PY) benchmarks/run.py

test:
	$(PY) -m pytest
