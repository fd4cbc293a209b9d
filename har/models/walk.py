"""One walk over the layers inside a Keras layer or model, for every part of har that needs it.

Duck-typed (no Keras import): it reads what a model, a wrapper or a layer already holds.
"""

from __future__ import annotations


def sublayers(layer, recursive: bool = True) -> list:
    """The layers inside `layer`, each once, depth first and in order: a model's layers, a
    wrapper's layer (TimeDistributed), a Bidirectional's forward and backward layers, a custom
    layer's own (as Keras tracks them); with `recursive`, the layers inside those, at any
    depth. A recurrent layer's cell is not walked: it is part of its layer (`layer.cell`).
    """
    found, seen = [], set()

    def visit(parent) -> None:
        for child in _children(parent):
            if id(child) not in seen:
                seen.add(id(child))
                found.append(child)
                if recursive:
                    visit(child)

    visit(layer)
    return found


def _children(layer) -> list:
    if hasattr(layer, "cell"):  # a recurrent layer: its cell is part of it
        return []
    if isinstance(getattr(layer, "layers", None), list):  # a model: model.layers, as Keras lists
        return list(layer.layers)
    # what Keras tracks as set on the layer: a wrapper's layer, a Bidirectional's two, ...
    return layer._flatten_layers(include_self=False, recursive=False)
