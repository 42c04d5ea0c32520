"""Sweep grids: expansion, defaults, and refusals that name the point and the reason (no FINN, no cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foldwise.core.errors import InputError
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.sweep.grid import load_grid, parse_grid


def test_a_grid_is_the_product_of_its_choices_plus_its_points(tmp_path: Path) -> None:
    (tmp_path / "fold.json").write_text('{"Defaults": {}}')
    (tmp_path / "sweep.yml").write_text(
        "board: Pynq-Z2\nkind: estimate\n"
        "grid:\n  clock_mhz: [100, 200]\n  folding: [default, {target_fps: 120}, {file: fold.json}]\n"
        "  bits: [current, w4a4]\n"
        "points:\n  - {clock_mhz: 150, folding: {autofit: {lut: 0.5}}, bits: {weights: 3, acts: 4}}\n"
        "slurm: {cpus: 2, mem: 2G, time: '00:10:00', partition: debug, points_per_task: 2}\n"
    )
    grid = load_grid(tmp_path / "sweep.yml")
    assert len(grid.points) == 2 * 3 * 2 + 1
    assert [p.index for p in grid.points] == list(range(13))
    first, last = grid.points[0], grid.points[-1]
    assert (first.clock_mhz, first.folding, first.bits, first.kind) == (
        100.0,
        {"mode": "default"},
        None,
        BuildKind.ESTIMATE,
    )
    assert grid.points[1].bits == {"weights": 4, "acts": 4, "layers": {}}
    assert grid.points[4].folding == {"mode": "file", "path": str((tmp_path / "fold.json").resolve())}
    assert last.folding == {"mode": "autofit", "lut": 0.5, "bram": 0.85}
    assert last.label == "p12 w3a4 estimate Pynq-Z2 150MHz autofit LUT≤0.5"
    assert (grid.slurm.cpus, grid.slurm.mem, grid.slurm.partition, grid.slurm.points_per_task) == (2, "2G", "debug", 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, r"the sweep grid is empty"),
        ({"grid": {"clock_mhz": []}}, r"grid clock_mhz is an empty list, so the grid has no points"),
        ({"points": []}, r"the sweep grid is empty: it lists no points"),
        ({"points": [{"bits": "w9a4"}]}, r"point 0: weights: bit width must be from 1 to 8, got 9"),
        ({"points": [{}, {"bits": {"weights": 4, "acts": 0}}]}, r"point 1: activations: bit width must be from 1"),
        (
            {"points": [{"bits": {"weights": 4, "acts": 4, "layers": {"fc": {"weight_bits": 12}}}}]},
            r"point 0: layer fc weights: bit width must be from 1 to 8, got 12",
        ),
        ({"points": [{"clock_mhz": 5000}]}, r"point 0: clock_mhz must be a number from 1 to 1000"),
        ({"points": [{"board": "Nope-Board"}]}, r"point 0: .*Nope-Board"),
        ({"points": [{"kind": "synth"}]}, r"point 0: unknown build kind 'synth'"),
        ({"points": [{"folding": {"target_fps": -3}}]}, r"point 0: folding target_fps must be a positive"),
        ({"points": [{"folding": {"file": "missing.json"}}]}, r"point 0: folding config not found"),
        ({"points": [{"folding": "fast"}]}, r"point 0: unknown folding 'fast'"),
        ({"points": [{"clock": 100}]}, r"points\[0\] has unknown keys \['clock'\]"),
        ({"points": [{}, {}]}, r"point 1: the same as point 0"),
        ({"grid": {"clocks": [1]}}, r"grid names unknown choices \['clocks'\]"),
        ({"points": [{}], "slurm": {"mem": "lots"}}, r"slurm mem must be like 4G"),
        ({"points": [{}], "slurm": {"points_per_task": 0}}, r"slurm points_per_task must be a whole number"),
        ([1, 2], r"a sweep grid is a mapping"),
    ],
)
def test_a_bad_grid_is_refused_naming_the_point_and_the_reason(data: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=message):
        parse_grid(data, base=tmp_path)


def test_an_unreadable_grid_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("grid: [unclosed\n")
    with pytest.raises(InputError, match=r"is not valid YAML/JSON"):
        load_grid(tmp_path / "bad.yml")
    with pytest.raises(InputError, match=r"does not exist"):
        load_grid(tmp_path / "none.yml")
