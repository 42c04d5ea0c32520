"""The Deploy form: the iteration's builds (unusable ones disabled with the reason), the spec it reads."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from foldwise.core.board.run_errors import BoardRunError
from foldwise.core.errors import InputError
from foldwise.core.finn.kinds import EMULATION_DIR
from foldwise.core.finn.stage import list_builds
from foldwise.core.project import Project
from foldwise.gui.board.deploy_form import DeployForm
from foldwise.gui.board.run_errors import EXPLANATIONS


def test_builds_listed_with_unusable_ones_disabled_and_the_spec_read(qtbot, estimated_defect: Path) -> None:
    with Project.open(estimated_defect) as project:
        iteration = project.current
        good = list_builds(iteration)[0]
        newer = good.folder.with_name(good.name + "-z")  # sorts first: the newest, but without FINN's model
        shutil.copytree(good.folder, newer)
        shutil.rmtree(newer / EMULATION_DIR)
        form = DeployForm()
        qtbot.addWidget(form)
        form.set_iteration(iteration)
        parent = project.get(iteration.parent)
    names = [form.build.itemData(i) for i in range(form.build.count())]
    assert names == [newer.name, good.name]
    assert form.build.currentData() == good.name  # choose_build's default, not the newest
    model = form.build.model()
    assert not model.item(0).isEnabled() and model.item(1).isEnabled()
    assert "neither a bitfile nor FINN's dataflow model" in form.build.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert "emulated boards only" in form.build.itemText(1)
    form.batches.setText("1, 8")
    form.validate.setChecked(True)
    form.images.setValue(0)
    form.timeout.setValue(30)
    spec = form.spec("emu")
    assert (spec.board, spec.build, spec.batches, spec.validate, spec.images, spec.timeout) == \
        ("emu", good.name, (1, 8), True, 0, 30.0)
    assert spec.password is None  # asked for by the panel, never kept in the form
    for text in ("1,x", "", "0"):
        form.batches.setText(text)
        with pytest.raises(InputError):
            form.spec("emu")
    form.set_iteration(parent)  # no builds at all
    assert form.build.count() == 0 and not form.has_build and "no build to deploy" in form.build_note.text()
    with pytest.raises(InputError, match="no deployable build"):
        form.spec("emu")


def test_every_runner_error_code_has_an_explanation(qtbot) -> None:
    board = Path(__file__).parents[3] / "app/foldwise/core/board"
    runner = (board / "runner_remote.py").read_text() + (board / "emulator.py").read_text()
    codes = set(re.findall(r'code="([a-z-]+)"', runner))
    # BoardRunError(message, "code", "fix") in deploy.py: runner-died, command-missing, no-bitfile
    codes |= set(re.findall(r'"([a-z]+-[a-z-]+)",\s*"', (board / "deploy.py").read_text()))
    assert codes and codes <= set(EXPLANATIONS), codes - set(EXPLANATIONS)
    assert {"runner-died", "command-missing", "no-bitfile", "dma-timeout"} <= codes
    form = DeployForm()
    qtbot.addWidget(form)
    form.show_failure(BoardRunError("no output", "dma-timeout", "check the bitfile"))
    assert not form.explanation.isHidden() and "Vivado version" in form.explanation.text()
    form.show_failure(InputError("plain"))
    assert form.explanation.isHidden()
