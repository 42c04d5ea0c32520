"""The networks against the real data module (foldwise.core.data), on a few images only."""

import pytest

from foldwise.core.data import defects
from foldwise.core.errors import InputError
from foldwise.core.networks.summary import summarize
from foldwise.core.networks.train import TrainConfig, evaluate, recommended_config, train
from foldwise.core.networks.zoo import ZOO, build


def test_defectnet_trains_on_generated_defects():
    data = defects.generate_defect_set(40, seed=3)
    spec = ZOO["defectnet"].spec
    assert data.input_shape == spec.shape and len(data.class_names) == ZOO["defectnet"].num_classes
    config = recommended_config("defectnet", epochs=1, batch_size=16)
    assert config.hflip and config.vflip
    result = train(build("defectnet"), data.subset(range(32)), data.subset(range(32, 40)), config, spec=spec)
    assert len(result.history) == 1
    assert evaluate(result.model, data, spec=spec).count == 40
    assert summarize(result.model, spec).total_params > 0


def test_defects_do_not_fit_lenet5():
    data = defects.generate_defect_set(4, seed=3)
    with pytest.raises(InputError, match="3×64×64 but the network takes 1×32×32"):
        train(build("lenet5"), data, None, TrainConfig(epochs=1), spec=ZOO["lenet5"].spec)
