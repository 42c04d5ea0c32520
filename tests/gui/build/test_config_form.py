"""FINN's advanced settings say why a typed number is refused, and the Build panel waits until it is fixed (#14:
"abc" in a number field was taken as FINN's default without a word)."""

from __future__ import annotations

from foldwise.core.finn.config_schema import SettingField
from foldwise.gui.build.config_form import SettingsForm
from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import show_panel

FIELDS = [SettingField("mvau_wwidth_max", "int", 36, description="widest MVAU weight stream"),
          SettingField("target_fps", "int", None, nullable=True),
          SettingField("fpga_power_estimate", "float", None, nullable=True)]


def type_into(qtbot, form: SettingsForm, name: str, text: str) -> None:
    edit = form.editors[name].widget
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def test_a_wrong_number_stays_with_its_reason(qtbot) -> None:
    form = SettingsForm()
    qtbot.addWidget(form)
    form.set_fields(FIELDS)
    form.show()
    seen: list[dict] = []
    form.changed.connect(seen.append)
    type_into(qtbot, form, "mvau_wwidth_max", "abc")
    editor = form.editors["mvau_wwidth_max"]
    assert editor.widget.text() == "abc" and editor.message.isVisible()
    assert editor.message.text() == "Must be a whole number (not “abc”)"
    assert form.problem() == "Fix the setting mvau wwidth max (Advanced settings) first: Must be a whole " \
                             "number (not “abc”)"
    type_into(qtbot, form, "mvau_wwidth_max", "48")
    assert not editor.message.isVisible() and form.problem() == "" and form.settings() == {"mvau_wwidth_max": 48}
    type_into(qtbot, form, "fpga_power_estimate", "1.5.2")
    assert form.editors["fpga_power_estimate"].message.text() == "Must be a number (not “1.5.2”)"
    form.editors["fpga_power_estimate"].widget.clear()  # empty is None where None is allowed
    assert form.problem() == "" and seen


def test_the_build_panel_waits_for_a_wrong_setting(main_window: MainWindow, qtbot) -> None:
    build = show_panel(main_window, "Build")
    build.settings_form.set_fields(FIELDS)
    edit = build.settings_form.editors["target_fps"].widget
    qtbot.keyClicks(edit, "-x")
    assert build.fields_refused()
    assert "Must be a whole number (not “-x”)" in main_window.statusBar().currentMessage()
    edit.clear()
    assert not build.fields_refused()
