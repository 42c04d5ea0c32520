"""Build panel on a build host: the real test sshd on 127.0.0.1 (tests/sshd.py) with this machine's finn-plus.

The host is saved through core (the list `foldwise build --remote NAME` reads), checked, then an estimate runs
there with FINN's log streamed into the panel while it runs; a cancelled build is resumed from the step it
stopped in; an unknown host key is a question, not an error.
"""
# ruff: noqa: F811 - pytest fixtures imported from other test modules are parameters here

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from foldwise.core.finn.hosts import RemoteBuildHost, find_host
from foldwise.core.jobs import JobState
from foldwise.gui.panels.build_panel import BuildPanel
from tests.core.finn.conftest import finn_worker, tfc_model  # noqa: F401 - shared session fixtures
from tests.core.remote.conftest import build_sshd, target_for  # noqa: F401 - the test sshd fixture
from tests.gui.panels.test_build_panel import LONG, panel, services, tfc_copy, wait_job, wait_ready  # noqa: F401
from tests.sshd import SshServer

TFC_100K_FPS = 111_607.14  # FINN's estimate for TFC-w1a1 folded by SetFolding for 100k fps @ 100 MHz


def _add_host(panel: BuildPanel, server: SshServer, tmp_path: Path, **target: object) -> RemoteBuildHost:
    host = RemoteBuildHost(target_for(server, **target), python=sys.executable, remote_dir=str(tmp_path / "remote"),
                           name="test build host")
    panel.add_host(host)
    assert panel.build_host is not None and panel.build_host.name == host.name
    return host


def _checked(qtbot, panel: BuildPanel) -> None:
    job = panel.check_host()
    wait_job(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message


def test_estimate_on_the_build_host_streams_its_log_into_the_panel(qtbot, panel: BuildPanel, tfc_copy: Path,
                                                                    build_sshd: SshServer, tmp_path: Path) -> None:
    host = _add_host(panel, build_sshd, tmp_path)
    assert find_host("test build host").display == host.display  # the CLI's --remote NAME sees it too
    assert not panel.full_build_button.isEnabled() and "check the build host" in panel.full_build_reason.text()
    _checked(qtbot, panel)
    assert "finn-plus 1.6.1" in panel.host_status.text()
    assert not panel.full_build_button.isEnabled() and "lacks vivado" in panel.full_build_reason.text()

    panel.set_model(tfc_copy, "file")
    wait_ready(qtbot, panel)
    panel.mode_target.setChecked(True)
    panel.target_fps.setValue(100_000)
    job = panel.start_estimate()
    assert host.display in job.title
    qtbot.waitUntil(lambda: "Running step: step_tidy_up" in panel.log_view.plain_text(), timeout=LONG)
    assert not job.is_finished  # the lines arrive while the build runs on the host, not at its end
    wait_job(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message
    text = panel.log_view.plain_text()
    assert "--- FINN runner pid" in text and f"on {host.display}: finn-plus 1.6.1" in text  # from the host
    assert "Running step: step_generate_estimate_reports" in text
    assert set(panel.steps.states().values()) == {"done"} and len(panel.steps.states()) >= 8
    report = panel.report
    assert report.fps.value == pytest.approx(TFC_100K_FPS, rel=1e-6) and report.fps.source == "estimated"
    assert report.build_dir == tfc_copy.parent / "tfc_w1a1.finn" / "estimate-Pynq-Z2-100MHz"  # picked in core
    assert json.loads((report.build_dir / "foldwise_remote.json").read_text())["status"] == "done"
    row = panel.builds_list.topLevelItem(0)
    assert (row.text(1), row.text(5), row.text(6)) == ("estimate", host.display, "ok")


def test_cancel_a_remote_build_then_resume_it_from_the_panel(qtbot, panel: BuildPanel, tfc_copy: Path,
                                                             build_sshd: SshServer, tmp_path: Path) -> None:
    _add_host(panel, build_sshd, tmp_path)
    panel.set_model(tfc_copy, "file")
    wait_ready(qtbot, panel)
    panel.mode_target.setChecked(True)
    panel.target_fps.setValue(100_000)
    panel.keep_box.setChecked(True)
    job = panel.start_estimate()
    qtbot.waitUntil(lambda: "step_convert_to_hw" in panel.steps.states(), timeout=LONG)
    panel.cancel_job()
    wait_job(qtbot, panel, job)
    assert job.state == JobState.CANCELLED
    # The cancel travels over SSH: step_convert_to_hw may finish before it lands, so the cut-off step is the one
    # marked cancelled, at or after step_convert_to_hw, and it is the one the resume starts from.
    states = panel.steps.states()
    order = list(states)
    cancelled = [name for name, state in states.items() if state == "cancelled"]
    assert len(cancelled) == 1 and order.index(cancelled[0]) >= order.index("step_convert_to_hw"), states

    panel.builds_list.setCurrentItem(panel.builds_list.topLevelItem(0))
    record = panel.builds_list.selected_record()
    step = record.resume_step  # the step the log shows running when the cancel came
    assert record.status == "cancelled" and step == cancelled[0] and panel.resume_button.isEnabled()
    panel.mode_target.setChecked(False)  # the resume uses the configuration the build started with
    panel.resume_button.click()
    job = panel._job
    assert f"at {step}" in job.title
    wait_job(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message
    assert next(iter(panel.steps.states())) == step  # FINN started at the step cut off
    assert panel.report.fps.value == pytest.approx(TFC_100K_FPS, rel=1e-6)
    assert json.loads((record.folder / "foldwise_remote.json").read_text())["start_step"] == step


def test_unknown_host_key_is_a_question_then_trusted(qtbot, panel: BuildPanel, build_sshd: SshServer,
                                                    tmp_path: Path) -> None:
    known_hosts = tmp_path / "fresh_known_hosts"
    _add_host(panel, build_sshd, tmp_path, known_hosts=known_hosts)
    job = panel.check_host()
    wait_job(qtbot, panel, job)
    assert job.state == JobState.FAILED

    def trust_box() -> QMessageBox | None:
        return next((w for w in QApplication.topLevelWidgets() + panel.services.window.findChildren(QMessageBox)
                     if isinstance(w, QMessageBox) and w.objectName() == "trustHostBox" and w.isVisible()), None)

    qtbot.waitUntil(lambda: trust_box() is not None, timeout=10_000)
    box = trust_box()
    assert job.error.fingerprint in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "finn-plus 1.6.1" in panel.host_status.text() and not panel.busy, timeout=LONG)
    assert "127.0.0.1" in known_hosts.read_text()
