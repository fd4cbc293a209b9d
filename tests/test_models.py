"""The two architectures against the paper's Tables 2 and 3, layer by layer."""

import keras
import pytest

from har.errors import ModelError
from har.models.architectures import build_convlstm, build_lrcn, build_model

# (output shape without the batch axis, parameters), 4 classes, as in Table 2.
TABLE_2 = [
    ((20, 62, 62, 4), 1024),
    ((20, 31, 31, 4), 0),
    ((20, 31, 31, 4), 0),
    ((20, 29, 29, 8), 3488),
    ((20, 15, 15, 8), 0),
    ((20, 15, 15, 8), 0),
    ((20, 13, 13, 14), 11144),
    ((20, 7, 7, 14), 0),
    ((20, 7, 7, 14), 0),
    ((20, 5, 5, 16), 17344),
    ((20, 3, 3, 16), 0),
    ((2880,), 0),
    ((4,), 11524),
]
# Table 3. The paper prints (20, 4, 4, 32) for the third convolution, but its 18,496
# parameters are 3*3*32*64 + 64: 64 filters, so the output has 64 channels.
TABLE_3 = [
    ((20, 64, 64, 16), 448),
    ((20, 16, 16, 16), 0),
    ((20, 16, 16, 16), 0),
    ((20, 16, 16, 32), 4640),
    ((20, 4, 4, 32), 0),
    ((20, 4, 4, 32), 0),
    ((20, 4, 4, 64), 18496),
    ((20, 2, 2, 64), 0),
    ((20, 2, 2, 64), 0),
    ((20, 2, 2, 64), 36928),
    ((20, 1, 1, 64), 0),
    ((20, 64), 0),
    ((32,), 12416),
    ((4,), 132),
]


@pytest.mark.parametrize(
    ("build", "table", "total"),
    [(build_convlstm, TABLE_2, 44524), (build_lrcn, TABLE_3, 73060)],
    ids=["convlstm-table2", "lrcn-table3"],
)
def test_layers_match_the_paper(build, table, total):
    model = build(4)
    got = [(tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers]
    assert got == table
    assert model.count_params() == total


def test_output_size_follows_the_class_count():
    assert build_lrcn(10).output_shape == (None, 10)
    assert build_convlstm(7).count_params() == 44524 - 11524 + (2880 * 7 + 7)


def test_build_model_rejects_unknown_architecture_and_one_class():
    with pytest.raises(ModelError, match="convlstm"):
        build_model("resnet", 4)
    with pytest.raises(ModelError, match="two classes"):
        build_model("lrcn", 1)


def test_models_are_serialisable_without_lambda_layers():
    for model in (build_convlstm(4), build_lrcn(4)):
        clone = keras.Sequential.from_config(model.get_config())
        assert clone.count_params() == model.count_params()
        assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
