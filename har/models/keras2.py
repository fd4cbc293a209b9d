"""Read a Keras 2 `.h5` (the tutorial's ConvLSTM or LRCN) into stock Keras 3 layers.
Keras 3 refuses most Keras 2 files as they are. The `Legacy*` classes below are handed to
`keras.models.load_model` as custom objects: each reads a Keras 2 config and returns a stock
Keras 3 layer, so the model that comes out (and the `.keras` file saved from it) holds only
stock layers and loads with `safe_mode=True` and no custom code. What they handle:

- `time_major` in LSTM / GRU / SimpleRNN / ConvLSTM*D configs (every tf.keras 2 file):
  "Unrecognized keyword arguments passed to LSTM: {'time_major': False}".
- layers inside TimeDistributed / Bidirectional saved without a module (tf.keras < 2.13):
  "Could not locate class 'Conv2D'".
- Sequential configs without an InputLayer, the shape on the first layer's `batch_input_shape`
  (older tf.keras): Keras 3 adds a second batch axis, "expected ndim=5, found ndim=6".
- BatchNormalization's `axis` saved as a list: "int() argument must be ... not 'list'".
- `hard_sigmoid` (the default recurrent activation of Keras 2's ConvLSTM2D): Keras 2's is
  clip(0.2x + 0.5), Keras 3's clip(x/6 + 0.5). Loading succeeds but predicts differently, so
  the weights feeding it are scaled by 1.2, which gives Keras 2's maths exactly.

The bare-list Sequential configs of Keras <= 2.2 are refused with a sentence: Keras 3 fails on
them before any custom class is asked.
"""

from __future__ import annotations

import contextvars
import json
import re
import warnings
from pathlib import Path

import h5py
import numpy as np

from har.errors import ModelError
from har.models.walk import sublayers

# Keyword arguments Keras 2 wrote that Keras 3 removed, per layer class.
REMOVED_ARGS = {
    name: ("time_major",)
    for name in ("LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
}


_HARD_SIGMOID_SCALE = 1.2  # clip(0.2x + 0.5) == clip((1.2x)/6 + 0.5)


# Conversions applied while loading one file, for the model card.
_conversions: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "conversions", default=None
)

_LEGACY_OBJECTS: dict | None = None


def _unconvertible(layer) -> ModelError:
    return ModelError(
        f"Layer {layer.name!r} ({type(layer).__name__}) uses hard_sigmoid, whose maths changed "
        "in Keras 3 in a way HAR Studio cannot convert here; re-save the model with 'sigmoid'."
    )


def _note(text: str) -> None:
    notes = _conversions.get()
    if notes is not None and text not in notes:
        notes.append(text)


def _plain(layer_config: dict) -> dict:
    """A serialized layer as Keras 2 wrote it, reduced to class name and config.

    Dropping `module`/`registered_name` makes Keras 3 find the class in our custom objects
    (so nested layers get the legacy classes too) rather than import it directly.
    """
    if not isinstance(layer_config, dict) or "class_name" not in layer_config:
        raise ModelError("The model's configuration has a layer without a class name.")
    return {"class_name": layer_config["class_name"], "config": dict(layer_config["config"])}


def _deserialize(layer_config: dict):
    import keras

    return keras.saving.deserialize_keras_object(
        _plain(layer_config), custom_objects=legacy_objects(), safe_mode=True
    )


def _keras3_config(class_name: str, config: dict) -> dict:
    """A Keras 2 layer config in the form Keras 3's constructor takes."""
    config = dict(config)
    axis = config.get("axis")
    if class_name == "BatchNormalization" and isinstance(axis, list):
        if len(axis) != 1:
            raise ModelError(f"BatchNormalization over several axes {axis} cannot be imported.")
        config["axis"] = axis[0]
        _note("BatchNormalization: axis [n] (Keras 2 list) given as n (Keras 3 takes an int)")
    for arg in REMOVED_ARGS.get(class_name, ()):
        if arg not in config:
            continue
        value = config.pop(arg)
        if arg == "time_major" and value:
            raise ModelError(
                f"Layer {config.get('name')!r} is time-major (time_major=True), which Keras 3 "
                "no longer supports; re-save the model with time_major=False."
            )
        _note(f"dropped {arg}={value!r} from {class_name} (removed in Keras 3)")
    return config


def _legacy_class(stock: type, from_config) -> type:
    """A subclass of `stock` named Legacy<stock> whose from_config is `from_config`."""
    return type(
        f"Legacy{stock.__name__}",
        (stock,),
        {
            "from_config": classmethod(from_config),
            "__doc__": f"Reads a Keras 2 {stock.__name__} config; builds a stock one.",
            "__module__": __name__,
        },
    )


def _legacy_layer(stock: type) -> type:
    """A subclass of `stock` whose from_config reads a Keras 2 config and returns a stock layer."""

    def from_config(cls, config, custom_objects=None):
        return stock.from_config(_keras3_config(stock.__name__, config))

    return _legacy_class(stock, from_config)


def _legacy_wrapper(stock: type) -> type:
    """A subclass of TimeDistributed/Bidirectional that finds its inner layers' classes."""

    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("batch_input_shape", "input_shape"):
            config.pop(key, None)
        inner = config.pop("layer")
        if "module" not in inner:  # tf.keras < 2.13: Keras 3 cannot locate the class
            _note(f"{stock.__name__}: inner layers saved without a module, found by class name")
        layer = _deserialize(inner)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"])
        return stock(layer, **config)

    return _legacy_class(stock, from_config)


def _legacy_sequential():
    import keras

    class LegacySequential(keras.Sequential):
        """Reads a Keras 2 Sequential config, with or without an InputLayer."""

        @classmethod
        def from_config(cls, config, custom_objects=None):
            layer_configs = [_plain(c) for c in config.get("layers", [])]
            if not layer_configs:
                raise ModelError("The model is an empty Sequential; there is nothing to import.")
            first = layer_configs[0]["config"]
            if layer_configs[0]["class_name"] == "InputLayer":
                layer_configs.pop(0)
                shape = first.get("batch_input_shape") or first.get("batch_shape")
            else:
                shape = first.get("batch_input_shape") or config.get("build_input_shape")
                if shape is None and first.get("input_shape") is not None:
                    shape = [None, *first["input_shape"]]
                _note("Sequential without an InputLayer: input built from batch_input_shape")
            if shape is None:
                raise ModelError(
                    "The model does not record its input shape; re-save it after building it "
                    "with an input shape (input_shape=... on its first layer)."
                )
            for c in layer_configs:
                c["config"].pop("batch_input_shape", None)
                c["config"].pop("input_shape", None)
            model = keras.Sequential(name=config.get("name"))
            model.add(keras.Input(shape=tuple(shape[1:]), dtype=first.get("dtype", "float32")))
            for c in layer_configs:
                model.add(_deserialize(c))
            return model

    return LegacySequential


def legacy_objects() -> dict:
    """Custom objects for loading a Keras 2 file: stock layers by bare name, legacy readers."""
    global _LEGACY_OBJECTS
    if _LEGACY_OBJECTS is None:
        from keras import layers

        objects = {
            name: obj
            for name, obj in vars(layers).items()
            if isinstance(obj, type) and issubclass(obj, layers.Layer) and name != "Lambda"
        }
        for name in (*REMOVED_ARGS, "BatchNormalization"):
            objects[name] = _legacy_layer(getattr(layers, name))
        objects["TimeDistributed"] = _legacy_wrapper(layers.TimeDistributed)
        objects["Bidirectional"] = _legacy_wrapper(layers.Bidirectional)
        objects["Sequential"] = _legacy_sequential()
        _LEGACY_OBJECTS = objects
    return _LEGACY_OBJECTS


def _one_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = " ".join(text.split())
    return text if len(text) <= 240 else text[:237] + "..."


def read_h5_config(path: str | Path) -> tuple[dict, dict]:
    """(model_config, attributes) of a Keras .h5 file; ModelError if it is not one."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"No file {str(p)!r}; give the path of a Keras .h5 model.")
    if not h5py.is_hdf5(p):
        raise ModelError(
            f"{p.name} is not an HDF5 file; give a Keras 2 model saved with model.save('x.h5')."
        )
    try:
        with h5py.File(p, "r") as f:
            attrs = {k: f.attrs[k] for k in f.attrs}
            has_weights = "model_weights" in f
            weights_only = "layer_names" in f.attrs
    except OSError as exc:
        raise ModelError(f"{p.name} could not be read as HDF5 ({_one_line(exc)}).") from exc
    raw = _attribute_text(attrs.get("model_config"))
    if raw is None or not has_weights:
        what = (
            "only weights (model.save_weights); save the whole model with model.save()"
            if weights_only
            else "no Keras model; give a file saved with Keras's model.save('x.h5')"
        )
        raise ModelError(f"{p.name} is an HDF5 file but holds {what}.")
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"{p.name} has an unreadable model configuration ({exc}).") from exc
    if not (isinstance(config, dict) and isinstance(config.get("class_name"), str)):
        raise ModelError(
            f"{p.name} has no Keras model configuration (its model_config is not a layer "
            "description); give a file saved with Keras's model.save('x.h5')."
        )
    if isinstance(config.get("config"), list):
        raise ModelError(
            f"{p.name} was saved by Keras 2.2 or older, which Keras 3 cannot read; load it in "
            "TensorFlow 2 (tf.keras) and save it again with model.save('x.h5')."
        )
    if not isinstance(config.get("config"), dict):
        raise ModelError(f"{p.name} has a model configuration without a config object.")
    if re.search(r'"class_name": "Lambda"', json.dumps(config)):
        raise ModelError(
            f"{p.name} contains a Lambda layer (Python code); HAR Studio does not run code "
            "from model files. Rebuild the model without Lambda layers."
        )
    text = {k: _attribute_text(v) for k, v in attrs.items()}
    return config, {k: v for k, v in text.items() if v is not None}


def _attribute_text(value) -> str | None:
    """An HDF5 attribute as text (Keras writes str or bytes); None for anything else."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value) if isinstance(value, str) else None


def load_keras2(path: str | Path, conversions: list[str] | None = None):
    """Load a Keras 2 .h5 into Keras 3 as a model of stock layers with the same predictions.

    `conversions`, if given, receives a line per change the loader made.
    """
    import keras

    _, attrs = read_h5_config(path)
    keras2 = not str(attrs.get("keras_version", "2")).startswith("3")
    notes: list[str] = [] if conversions is None else conversions
    token = _conversions.set(notes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.models.load_model(
                str(path), custom_objects=legacy_objects(), compile=False
            )
        if keras2:  # a .h5 written by Keras 3 already means Keras 3's hard_sigmoid
            _fix_hard_sigmoid(model)
    except ModelError:
        raise
    except Exception as exc:  # any Keras or h5py failure: one sentence
        raise ModelError(
            f"{Path(path).name} could not be rebuilt as a Keras 3 model ({_one_line(exc)})."
        ) from exc
    finally:
        _conversions.reset(token)
    return model


def _is_hard_sigmoid(fn) -> bool:
    return getattr(fn, "__name__", "") == "hard_sigmoid"


def _scale_columns(variable, columns: list[slice]) -> None:
    value = np.array(variable.numpy())
    for cols in columns:
        value[..., cols] *= _HARD_SIGMOID_SCALE
    variable.assign(value)


def _fix_hard_sigmoid(model) -> None:
    """Give Keras 2's hard_sigmoid its Keras 2 maths under Keras 3's by scaling the weights.

    Only weights that feed the activation linearly are scaled: gate columns of recurrent
    layers, the kernel and bias of Dense/Conv layers. Anything else is refused.
    """
    from keras import layers

    for layer in sublayers(model):
        if isinstance(layer, layers.Wrapper | layers.Bidirectional):
            continue  # its inner layers come next
        cell = getattr(layer, "cell", None)
        if cell is not None and _is_hard_sigmoid(getattr(cell, "activation", None)):
            raise _unconvertible(layer)
        if cell is not None and _is_hard_sigmoid(getattr(cell, "recurrent_activation", None)):
            n = cell.units if hasattr(cell, "units") else cell.filters
            if isinstance(layer, layers.GRU):
                gates = [slice(0, 2 * n)]  # update, reset
            else:
                gates = [slice(0, 2 * n), slice(3 * n, 4 * n)]  # input, forget, output
            weights = [cell.kernel, cell.recurrent_kernel] + ([cell.bias] if cell.use_bias else [])
            for variable in weights:
                _scale_columns(variable, gates)
            _note(
                f"{type(layer).__name__}: gate weights x{_HARD_SIGMOID_SCALE} so Keras 3's "
                "hard_sigmoid (x/6+0.5) computes Keras 2's (0.2x+0.5)"
            )
        elif isinstance(layer, layers.Dense | layers.Conv1D | layers.Conv2D | layers.Conv3D) and (
            _is_hard_sigmoid(getattr(layer, "activation", None))
        ):
            for variable in [layer.kernel] + ([layer.bias] if layer.use_bias else []):
                _scale_columns(variable, [slice(None)])
            _note(f"{type(layer).__name__}: weights x1.2 for Keras 2's hard_sigmoid")
        elif cell is None and "hard_sigmoid" in json.dumps(layer.get_config(), default=str):
            raise _unconvertible(layer)
