import numpy as np
import pytest

from foldwise.core.data.frames import crop_parts, render_conveyor_frame
from foldwise.core.errors import InputError


def test_frame_has_boxes_inside_and_labels():
    frame = render_conveyor_frame(3, width=320, height=240, n_parts=(4, 4), defect_rate=0.5)
    assert frame.image.shape == (240, 320, 3) and frame.image.dtype == np.uint8
    k = len(frame.boxes)
    assert 1 <= k <= 4 and len(frame.labels) == len(frame.parts) == len(frame.kinds) == k
    x0, y0, x1, y1 = frame.boxes.T
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 320).all() and (y1 <= 240).all()
    assert ((x1 - x0) > 20).all() and ((y1 - y0) > 10).all()
    assert all((kind == "none") == (label == 0) for kind, label in zip(frame.kinds, frame.labels, strict=True))
    crops = crop_parts(frame.image, frame.boxes)
    assert crops.shape == (k, 3, 64, 64)


def test_frame_is_deterministic_and_all_defects_possible():
    a, b = render_conveyor_frame(11), render_conveyor_frame(11)
    np.testing.assert_array_equal(a.image, b.image)
    frame = render_conveyor_frame(1, n_parts=(3, 3), defect_rate=1.0)
    assert set(frame.labels.tolist()) == {1}


def test_frame_smaller_than_a_crop_is_refused():
    with pytest.raises(InputError, match="smaller"):
        render_conveyor_frame(0, width=40, height=40)
