"""The paper's two architectures, their fast layers, model cards and the registry on disk,
Keras 2 import, export."""
