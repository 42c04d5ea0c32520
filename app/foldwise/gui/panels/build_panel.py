"""Build stage: FINN (finn-plus) estimates in seconds, a folding editor that re-estimates as you edit, auto-fit,
HLS code generation and full bitfile builds where the Xilinx tools exist, here or on a build host over SSH.

The model is the current iteration's QONNX export (once it is quantized) or any QONNX file opened here. Every
figure is labelled with its source (estimated / simulated / synthesized). Builds go through the Build stage's
one call (:func:`foldwise.core.finn.stage.build` with a :class:`~foldwise.core.finn.build_config.BuildConfig`),
which also picks their folders; the panel starts every job through its base class, and a build's log lines
(FINN's, streamed from the build host for remote builds) arrive through the jobs controller. FINN itself only
ever runs in a FINN worker process (``foldwise.core.finn.worker``) or the runner on the build host.
"""

from __future__ import annotations

import contextlib
import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QWidget,
)

from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.finn import build, stage
from foldwise.core.finn.boards import get_board
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.build_state import estimate_record, folding_record, load_build_state, save_build_state
from foldwise.core.finn.config_schema import fetch_schema, fields_from_schema
from foldwise.core.finn.failures import explain, model_layers, read_build_log
from foldwise.core.finn.folding import save_folding
from foldwise.core.finn.hosts import HostCheck, RemoteBuildHost, remove_host, save_host, saved_hosts
from foldwise.core.finn.instant import InstantTables, instant_report
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.remote_build import check_build_host
from foldwise.core.finn.reports import DRAM, BuildReport, read_build_reports
from foldwise.core.finn.target import project_target_fps, set_target_fps, target_verdict
from foldwise.core.finn.tools import what_is_missing
from foldwise.core.finn.worker import FinnWorker, get_worker
from foldwise.core.iterations import is_quantized
from foldwise.core.jobs import Job, JobContext, JobState
from foldwise.core.remote.target import UnknownHostKeyError
from foldwise.gui.build.folding_table import FoldingModel
from foldwise.gui.build.host_dialog import BuildHostDialog
from foldwise.gui.build.live_estimate import LiveEstimator
from foldwise.gui.build.missing_view import missing_reason
from foldwise.gui.build.panel_ui import BITFIT_TIP, setup_ui
from foldwise.gui.build.results import autofit_text, bitfit_text, origin_text, show_figures
from foldwise.gui.build.sweep_tab import SweepTab
from foldwise.gui.host_trust import ask_to_trust
from foldwise.gui.panels.base import AppServices, StagePanel


class BuildPanel(StagePanel):
    title = "Build"
    icon = "build"
    summary = "FINN estimates, folding editor with auto-fit, and bitfile builds"

    _schema_cache: dict[str, Any] | None = None  # finn-plus's config schema, fetched once per process
    state_saved = Signal()  # the iteration's saved build state (folding, estimate, results) changed

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.model_path: Path | None = None
        self.source = ""  # "project" | "file" | ""
        self._typed_target: int | None = None  # the target typed with no project open (nowhere to save it)
        self.iteration: Any = None
        self.report: BuildReport | None = None
        self.hw: build.HwNodes | None = None
        self.worker: FinnWorker | None = None  # None: the shared worker
        self._tools_state: dict[str, Any] = {}
        self._hosts: dict[str, RemoteBuildHost] = {}  # the saved build hosts, by name
        self._passwords: dict[str, str] = {}  # typed this session, never saved
        self._host_checks: dict[tuple[str, str], HostCheck] = {}  # (host name, board) -> what a Check found
        self._skip_live = False
        self.folding_model = FoldingModel(self.undo_stack)
        self.folding_model.folding_changed.connect(self._folding_edited)
        self.instant: InstantTables | None = None  # option tables of the model shown, once tabulated
        self.live = LiveEstimator(self._live_run, delay_ms=300, parent=self)
        self.live.finished.connect(self._live_done)
        self.live.failed.connect(self._live_failed)
        setup_ui(self)
        self.sweep_tab = SweepTab(self, self.sweep_view)
        self._connect()
        self.refresh_hosts()
        self.refresh_tools()
        self._update_source()
        self._update_enabled()

    # ================================================================= UI
    def _connect(self) -> None:
        self.open_button.clicked.connect(self.open_dialog)
        self.project_button.clicked.connect(lambda: self.project_changed(force=True))
        self.board_combo.currentIndexChanged.connect(self._board_changed)
        self.clock_spin.valueChanged.connect(self._clock_changed)
        self.mode_target.toggled.connect(self._mode_changed)
        self.target_fps.valueChanged.connect(self._target_changed)
        self.budget_spin.valueChanged.connect(lambda _v: self._show_gauges())
        self.estimate_button.clicked.connect(self.start_estimate)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.start_estimate)
        self.autofit_button.clicked.connect(self.start_autofit)
        self.bitfit_button.clicked.connect(self.start_bitfit)
        self.use_bits_button.clicked.connect(self.use_found_bits)
        self._bits_file: Path | None = None
        self.bitfit_rounds = 8  # bits taken off at most, in all
        self.codegen_button.clicked.connect(self.start_codegen)
        self.full_build_button.clicked.connect(self.start_full_build)
        self.host_combo.currentIndexChanged.connect(self._host_changed)
        self.check_host_button.clicked.connect(lambda: self.check_host())
        self.add_host_button.clicked.connect(self.add_host_dialog)
        self.remove_host_button.clicked.connect(self.remove_current_host)
        self.resume_button.clicked.connect(lambda: self.resume_build())
        self.builds_list.currentItemChanged.connect(lambda *_: self._update_enabled())
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.undoTextChanged.connect(self._undo_text)
        self.save_folding_button.clicked.connect(self.save_folding_dialog)
        self.load_folding_file_button.clicked.connect(self.load_folding_dialog)
        self.builds_list.reopen.connect(self.reopen_build)
        self.reopen_button.clicked.connect(lambda: self.reopen_build(self.builds_list.selected_folder()))
        self.load_folding_button.clicked.connect(self.load_report_folding)
        self.explanations.line_clicked.connect(self.log_view.go_to_line)
        self.missing_view.refresh_requested.connect(self.refresh_tools)
        self.settings_form.changed.connect(lambda _settings: self._update_enabled())
        self.full_build_reason.linkActivated.connect(lambda _link: self.tabs.setCurrentIndex(self._tools_tab))

    def fields_refused(self) -> bool:
        """The panel's number fields, and FINN's advanced settings typed in their tab."""
        problem = self.settings_form.problem()
        if problem:
            self.services.status(problem)
            return True
        return super().fields_refused()

    def _undo_text(self, text: str) -> None:
        with contextlib.suppress(RuntimeError):  # the stack may signal while the panel is being destroyed
            self.undo_button.setToolTip(f"Undo {text} (Ctrl+Z)" if text else "Nothing to undo")

    @staticmethod
    def _note(label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    def _ensure_chart(self) -> Any:
        if self.chart is None:
            from foldwise.gui.build.cycles_chart import CyclesChart  # pyqtgraph loads on first use

            self.chart = CyclesChart()
            self.chart.node_clicked.connect(self.table.select_node)
            self.chart_holder.addWidget(self.chart)
        return self.chart

    # ================================================================= state helpers
    @property
    def board(self) -> str:
        return str(self.board_combo.currentData())

    @property
    def clock_mhz(self) -> float:
        return float(self.clock_spin.value())

    def _budget(self) -> float:
        return self.budget_spin.value() / 100.0

    def set_busy(self, busy: bool) -> None:
        self._update_enabled()

    def _update_enabled(self) -> None:
        has_model, busy = self.model_path is not None, self.busy
        fields_ok = self.fields.ok and not self.settings_form.problem()
        for w in (self.estimate_button, self.autofit_button, self.codegen_button):
            w.setEnabled(has_model and not busy and fields_ok)
        quantized = self.source == "project" and is_quantized(self.iteration)
        self.bitfit_button.setEnabled(has_model and not busy and quantized and fields_ok)
        self.bitfit_button.setToolTip(BITFIT_TIP if quantized else
                                      f"{BITFIT_TIP} [needs the project's quantized iteration as the model]")
        self.use_bits_button.setEnabled(not busy and self._bits_file is not None)
        for w in (self.board_combo, self.clock_spin, self.open_button, self.project_button, self.host_combo,
                  self.add_host_button):
            w.setEnabled(not busy)
        remote = self.build_host is not None
        self.check_host_button.setEnabled(remote and not busy)
        self.remove_host_button.setEnabled(remote and not busy)
        record = self.builds_list.selected_record()
        self.resume_button.setEnabled(not busy and record is not None and record.resume_step is not None)
        self.compare_box.setEnabled(not busy)
        has_nodes = bool(self.folding_model.nodes)
        self.save_folding_button.setEnabled(has_nodes)
        self.load_folding_file_button.setEnabled(has_nodes)
        reason = self._bitfile_reason()
        self.full_build_button.setEnabled(has_model and not busy and not reason and fields_ok)
        self.full_build_button.setToolTip(reason or "Vivado/Vitis HLS build of the accelerator: 15 min to hours")
        tab = html.escape(self.tabs.tabText(self._tools_tab), quote=False)  # "What's missing" until nothing is
        where = "" if self.build_host is not None else f" See the <a href='#tools'>{tab}</a> tab."
        self.full_build_reason.setText(
            f"Full build unavailable: {html.escape(reason, quote=False)}{where}" if reason else "")
        self.full_build_reason.setVisible(bool(reason))
        if hasattr(self, "sweep_tab"):
            self.sweep_tab.update_enabled()

    def _bitfile_reason(self) -> str:
        """Why a bitfile cannot be built where builds run now ('' if it can): Vivado here, or on the host."""
        host = self.build_host
        if host is None:
            return missing_reason(self._tools_state, "bitfile")
        check = self._host_checks.get((host.name, self.board))
        if check is None:
            return f"check the build host {host.display} first: Check shows whether it has Vivado."
        missing = check.missing_for(BuildKind.BITFILE)
        return f"build host {host.display} lacks {', '.join(missing)}; an estimate needs none." if missing else ""

    def refresh_tools(self) -> None:
        """Look for Vivado, Vitis HLS and FINN's dependencies again (file-system look-ups only)."""
        self._tools_state = what_is_missing(self.board)
        self.missing_view.set_state(self._tools_state)
        complete = all(o["available"] for o in self._tools_state["outputs"].values())
        self.tabs.setTabText(self._tools_tab, "Tools" if complete else "What's missing")
        self._update_enabled()

    # ================================================================= model source
    def project_changed(self, force: bool = False) -> None:
        project = self.project
        self.sweep_tab.project_changed()
        iteration = project.current if project is not None else None
        target = project_target_fps(project)
        if target is not None and target != self.target_fps.value():
            with QSignalBlocker(self.target_fps):
                self.target_fps.setValue(target)
            self._refresh_verdict()
        if project is None or iteration is None:
            if self.source == "project":
                self.set_model(None)
            self.iteration = iteration
            self._update_source()
            return
        try:
            path = stage.qonnx_for(project, iteration)
        except InputError as exc:
            if self.source == "project" or force:
                self.set_model(None)
            self.iteration = iteration
            self._update_source(str(exc))
            return
        changed = iteration is not self.iteration and getattr(self.iteration, "id", None) != iteration.id
        self.iteration = iteration
        if force or changed or (self.source != "file" and path != self.model_path):
            self.set_model(path, "project")
        else:
            self._update_source()

    def open_dialog(self) -> None:
        start = str(self.model_path.parent) if self.model_path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a QONNX model", start, "QONNX / ONNX (*.onnx);;All (*)")
        if path:
            self.set_model(Path(path), "file")

    def set_model(self, path: Path | str | None, source: str = "file") -> Job | None:
        """Show ``path`` (a FINN-ready QONNX file): read its hardware nodes, then re-estimate at once."""
        self.live.cancel()
        self.model_path = Path(path) if path is not None else None
        self.source = source if path is not None else ""
        self.hw, self.report = None, None
        self.folding_model.clear()
        self._show_report(None)
        self.autofit_result.clear()
        self._bits_file = None
        self.use_bits_button.hide()
        self.live_label.clear()
        self._note(self.folding_note, "")
        self._note(self.cpu_note, "")
        self._update_source()
        self.refresh_builds()
        saved = self._restore_results()
        self._adopt_board_and_clock(saved.get("estimate") or {})
        self._update_enabled()
        if self.model_path is None:
            return None
        folding = saved.get("folding") or {}
        keep = folding.get("values") if isinstance(folding.get("values"), dict) else None
        return self.load_nodes({k: v for k, v in keep.items() if isinstance(v, dict)} if keep else None,
                               saved_sha=folding.get("model_sha256"))

    # ----------------------------------------------------------------- the iteration's saved build state
    def _state_iteration(self) -> Any:
        """The iteration whose build state the panel shows and keeps (None for an opened file)."""
        if self.source == "project" and self.iteration is not None and self.project is not None \
                and not self.project.read_only:
            return self.iteration
        return None

    def _save_state(self, **parts: Any) -> None:
        iteration = self._state_iteration()
        if iteration is None:
            return
        try:
            save_build_state(iteration, **parts)
        except OSError as exc:
            self.services.status(f"Could not keep the Build panel's state with {iteration.label}: {exc}", 15000)
            return
        self.state_saved.emit()

    def _restore_results(self) -> dict[str, Any]:
        """Show the auto-fit and bit-width results saved with the iteration; returns the whole saved state."""
        iteration = self._state_iteration()
        saved = load_build_state(iteration) if iteration is not None else {}
        texts = []
        autofit = saved.get("autofit")
        if autofit:
            texts.append(autofit_text(autofit["result"], float(autofit.get("budget", self._budget())),
                                      autofit.get("budgets")))
        bitfit = saved.get("bitfit")
        if bitfit and self.project is not None and iteration is not None:
            texts.append(bitfit_text(bitfit["result"], float(bitfit.get("budget", self._budget()))))
            self._bits_file = self._write_bits_file(iteration, bitfit["result"])
            accepted = any(t.get("accepted") for t in bitfit["result"].get("trials", []))
            self.use_bits_button.setVisible(accepted and self._bits_file is not None)
        self.autofit_result.setText("<br>".join(texts))
        return saved

    def _adopt_board_and_clock(self, estimate: dict[str, Any]) -> None:
        """The board and clock the saved folding was last estimated for (in this panel or by `foldwise estimate
        --board/--clock-mhz`): the same folding on another part or clock gives other figures."""
        index = self.board_combo.findData(estimate.get("board"))
        clock = estimate.get("clock_mhz")
        with QSignalBlocker(self.clock_spin):
            if isinstance(clock, (int, float)) and self.clock_spin.minimum() <= clock <= self.clock_spin.maximum():
                self.clock_spin.setValue(float(clock))
        if index >= 0 and index != self.board_combo.currentIndex():
            with QSignalBlocker(self.board_combo):
                self.board_combo.setCurrentIndex(index)
            self.refresh_tools()
            self._host_changed()

    def _write_bits_file(self, iteration: Any, result: dict[str, Any]) -> Path | None:
        """The per-layer bits file Quantize loads, written from the saved result (None if it has none)."""
        from foldwise.core.atomic import atomic_write_json

        layers = result.get("per_layer_file")
        if not isinstance(layers, dict) or self.project is None:
            return None
        folder = self.project.cache_dir / "bitfit"
        path = folder / f"{iteration.id}-layers.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_json(path, layers)
        except OSError:
            return None
        return path

    def _update_source(self, note: str | None = None) -> None:
        it = self.iteration
        if self.model_path is None:
            self.source_label.setText("<b>No model.</b>")
        elif self.source == "project" and it is not None:
            self.source_label.setText(f"<b>{html.escape(self.model_path.name)}</b><br><small>iteration {it.label} "
                                      f"({it.kind}) of {html.escape(self.project.name if self.project else '')}"
                                      "</small>")
        else:
            self.source_label.setText(f"<b>{html.escape(self.model_path.name)}</b><br><small>opened file in "
                                      f"{html.escape(str(self.model_path.parent))}</small>")
        if note is None and self.project is not None and it is not None and self.source != "project":
            try:
                stage.qonnx_for(self.project, it)
            except InputError as exc:
                note = str(exc)
        if note:
            self.source_note.setText(f"{html.escape(note)}<br>Open a QONNX file to estimate it directly.")
        elif self.project is None and self.model_path is None:
            self.source_note.setText("Open a project with a quantized iteration, or a QONNX file "
                                     "(e.g. a Brevitas TFC/CNV export).")
        else:
            self.source_note.clear()
        self.source_note.setVisible(bool(self.source_note.text()))
        has_project_model = False
        if self.project is not None and it is not None and self.source == "file":
            try:
                stage.qonnx_for(self.project, it)
                has_project_model = True
            except InputError:
                pass
        self.project_button.setVisible(has_project_model)

    def _target(self) -> Any:
        """What a build builds: the iteration (its builds are kept under it) or the opened file."""
        if self.source == "project" and self.iteration is not None:
            return self.iteration
        return self.model_path

    def refresh_builds(self) -> None:
        iteration = self.iteration if self.source == "project" else None
        try:
            builds = stage.builds_for(self.model_path, iteration)
        except OSError:
            builds = []
        self.builds_list.set_builds(builds)
        self._update_enabled()

    # ================================================================= build hosts
    def refresh_hosts(self, select: str | None = None) -> None:
        """Fill the host picker from the saved build hosts (the list `foldwise build --remote NAME` reads)."""
        current = select if select is not None else (self.host_combo.currentData() or "")
        try:
            hosts = saved_hosts()
        except InputError as exc:
            hosts = []
            self.services.status(str(exc), 15000)
        self._hosts = {h.name: h for h in hosts}
        with QSignalBlocker(self.host_combo):
            self.host_combo.clear()
            self.host_combo.addItem("This machine", "")
            for h in hosts:
                self.host_combo.addItem(h.name if h.name == h.display else f"{h.name} ({h.display})", h.name)
                self.host_combo.setItemData(self.host_combo.count() - 1, f"{h.display}, Python: {h.python}, "
                                            f"folder {h.remote_dir}", Qt.ItemDataRole.ToolTipRole)
            self.host_combo.setCurrentIndex(max(self.host_combo.findData(current), 0))
        self._host_changed()

    @property
    def build_host(self) -> RemoteBuildHost | None:
        """The build host picked (None: builds run on this machine), with this session's password if any."""
        host = self._hosts.get(self.host_combo.currentData() or "")
        if host is not None and host.name in self._passwords:
            host = host.with_password(self._passwords[host.name])
        return host

    def _host_changed(self) -> None:
        host = self.build_host
        if host is None:
            self._note(self.host_status, "")
        else:
            check = self._host_checks.get((host.name, self.board))
            self._note(self.host_status, html.escape(self._host_text(host, check)))
        self._update_enabled()

    @staticmethod
    def _host_text(host: RemoteBuildHost, check: HostCheck | None) -> str:
        if check is None:
            return f"{host.display}: not checked yet (Check looks for finn-plus and Vivado there)"
        if not check.ok:
            return check.missing_message()
        missing = check.missing_for(BuildKind.BITFILE)
        return (f"{host.display}: finn-plus {check.finn_version}, Python {check.python_version} ({check.machine}); "
                + (f"bitfile needs {', '.join(missing)}" if missing else "bitfile builds possible"))

    def add_host_dialog(self) -> None:
        dialog = BuildHostDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.add_host(dialog.host(), dialog.password_text())

    def add_host(self, host: RemoteBuildHost, password: str | None = None) -> None:
        """Save ``host`` (core's saved list; never its password) and pick it."""
        try:
            save_host(host)
        except (InputError, OSError) as exc:
            self.services.error("Cannot save the build host", exc)
            return
        if password:
            self._passwords[host.name] = password
        self.refresh_hosts(select=host.name)

    def remove_current_host(self) -> None:
        host = self.build_host
        if host is not None:
            remove_host(host.name)
            self.refresh_hosts(select="")

    def check_host(self, trust_fingerprint: str | None = None) -> Job | None:
        """Log in to the picked build host and find finn-plus and the Xilinx tools there."""
        host, board = self.build_host, self.board
        if host is None or self.busy:
            return None

        def done(check: HostCheck) -> None:
            self._host_checks[(host.name, board)] = check
            self._host_changed()

        return self.run_job(f"Check build host {host.display}",
                            lambda ctx: check_build_host(host, board=board, trust_fingerprint=trust_fingerprint,
                                                         ctx=ctx), on_done=done)

    def show_job_error(self, job: Job) -> None:
        """A build host's unknown key is a question (trust it?), not an error; the rest as every panel."""
        error = job.error
        if isinstance(error, UnknownHostKeyError):
            ask_to_trust(self.services.window, error, "build host",
                         lambda fingerprint: self.check_host(trust_fingerprint=fingerprint))
            return
        super().show_job_error(job)

    # ================================================================= build jobs
    def _build_config(self, kind: BuildKind) -> BuildConfig:
        target = self.target_fps.value() if self.mode_target.isChecked() else None
        folding = self.folding_model.folding() if (self.folding_model.nodes and target is None) else None
        return BuildConfig(kind=kind, board=self.board, clock_mhz=self.clock_mhz, target_fps=target, folding=folding,
                           host=self.build_host, settings=self.settings_form.settings(),
                           keep_intermediate=True if self.keep_box.isChecked() else None)

    def run_build(self, config: BuildConfig, title: str, origin: str,
                  then: Any = None) -> Job | None:
        """Run the Build stage on the model with ``config``; steps and log (live, also from a build host) show in
        the Builds tab, the figures when it is done."""
        if self.model_path is None or self.busy or self.fields_refused():
            return None
        target = self._target()
        self.steps.start()
        self.log_view.clear()
        self.explanations.set_explanations([])
        if config.host is not None:
            title += f" on {config.host.display}"

        def done(report: BuildReport) -> None:
            self._build_done(report, origin, config)
            if then is not None:
                then(report)

        worker = self.worker
        return self.run_job(title, lambda ctx: stage.build(target, config, ctx, worker=worker), on_done=done,
                            on_log=self._build_log, on_failed=self._build_failed)

    def _build_log(self, line: str) -> None:
        self.log_view.append(line)
        self.steps.on_progress(line)  # FINN's "Running step: step_x [i/N]" lines

    def _build_failed(self, job: Job) -> None:
        self.steps.finish(job.state.value)
        self._explain_failure(job)
        self.refresh_builds()

    def _explain_failure(self, job: Job) -> None:
        text = self.log_view.plain_text()
        if job.state != JobState.FAILED:
            self.explanations.set_explanations([])
            return
        layers = None
        if self.model_path is not None:
            try:
                layers = model_layers(self.model_path)
            except Exception:  # a file that is not ONNX at all: no layer names, still explain
                layers = None
        error = job.error_message
        self.explanations.set_explanations(explain(f"{text}\n{error}", layers), error)

    # ----------------------------------------------------------------- hardware nodes
    def load_nodes(self, keep: dict[str, dict] | None = None, saved_sha: str | None = None) -> Job | None:
        """Read the model's hardware nodes; ``keep``: a folding to show (if saved, only for the model it was
        saved for: ``saved_sha``)."""
        if self.model_path is None:
            return None
        model, board, clock, worker = self.model_path, self.board, self.clock_mhz, self.worker
        cache = self._answers_folder()
        self.instant = None
        self.live_label.setText("reading the model's hardware nodes…")

        def done(hw: build.HwNodes) -> None:
            if model != self.model_path:
                return
            self.hw = hw
            self.folding_model.show_uram = get_board(board).uram > 0
            mine = keep if saved_sha is None or saved_sha == hw.model_sha256 else None
            self.folding_model.set_nodes(hw.nodes, hw.model_sha256, mine)
            self._update_enabled()
            self.live.request(self._payload(), immediate=True)  # figures for the current folding at once
            self._load_tables(model, board, hw)
            if hw.cpu_nodes:
                names = "; ".join(f"{n['name']} ({n['op_type']}): {n.get('why', '')}" for n in hw.cpu_nodes)
                self._note(self.cpu_note, f"<small style='color:#5f6b7a'>Runs on the host, not the FPGA: "
                                      f"{html.escape(names)}</small>")
            self._fetch_schema()

        saved = build.saved_hw_nodes(model, board=board, cache=cache)
        if saved is not None:  # a project estimated before: no wait for FINN (its re-estimate still confirms)
            done(saved)
            return None
        return self.run_job(f"FINN hardware nodes of {model.name} ({board})",
                            lambda ctx: build.hw_nodes(model, board=board, clock_mhz=clock, worker=worker, ctx=ctx,
                                                       cache=cache),
                            on_done=done)

    def _answers_folder(self) -> Path | None:
        """Where FINN's answers about this project's models are kept (none for a file opened on its own)."""
        return self.project.cache_dir / "finn" if self.project is not None and self.source == "project" else None

    def _load_tables(self, model: Path, board: str, hw: build.HwNodes) -> None:
        """Every legal choice per node with FINN's estimates, in the background, so folding edits get figures at
        once (``core.finn.instant``); FINN's re-estimate still confirms each edit."""
        worker, cache = self.worker, self._answers_folder()
        defaults = {n["name"]: n["attrs"] for n in hw.nodes}

        def done(tables: InstantTables) -> None:
            if model == self.model_path and board == self.board:
                self.instant = tables
                if self.report is None and self.hw is hw:  # reopened: the tables were cached, FINN still starts
                    self._show_instant()

        def failed(job: Job) -> None:  # instant figures are a convenience: FINN's re-estimate still answers
            self.services.status(f"Folding edits wait for FINN's re-estimate: {job.error_message}", 10000)

        saved = build.saved_option_tables(model, board=board, cache=cache)
        if saved is not None:
            # On the next turn of the event loop: a project opened at start-up shows the window before the
            # figures' chart loads pyqtgraph.
            QTimer.singleShot(0, lambda: done(InstantTables(saved, defaults)))
            return
        self.services.jobs.start(
            Job(f"Tabulate every legal folding of {model.name}",
                lambda ctx: InstantTables(build.option_tables(model, board=board, worker=worker, ctx=ctx,
                                                              cache=cache), defaults)),
            on_done=done, on_error=failed)

    def _fetch_schema(self) -> None:
        if BuildPanel._schema_cache is not None:
            if not self.settings_form.has_fields:
                self.settings_form.offer_fields(*fields_from_schema(BuildPanel._schema_cache))
            return
        worker = self.worker

        def done(result: tuple[dict[str, Any], tuple[list[Any], list[str]]]) -> None:
            BuildPanel._schema_cache, fields = result
            self.settings_form.offer_fields(*fields)

        def read(ctx: JobContext) -> tuple[dict[str, Any], tuple[list[Any], list[str]]]:
            schema = fetch_schema(worker, ctx)
            return schema, fields_from_schema(schema)  # parsed in the job: ~40 ms of regexes off the GUI thread

        def failed(job: Job) -> None:
            self.settings_form.intro.setText(f"<i>FINN's settings could not be read: {job.error_message}</i>")

        self.services.jobs.start(Job("FINN build settings", read),
                                 on_done=done, on_error=failed)

    # ----------------------------------------------------------------- live re-estimate
    def _payload(self) -> dict[str, Any]:
        return {"model": self.model_path, "board": self.board, "clock": self.clock_mhz,
                "folding": self.folding_model.folding(), "sha": self.folding_model.model_key}

    def _live_run(self, payload: dict[str, Any], ctx: JobContext) -> BuildReport:
        return build.reestimate(payload["model"], payload["folding"], board=payload["board"],
                                clock_mhz=payload["clock"], worker=self.worker, ctx=ctx)

    def _load_folding(self, folding: dict[str, Any], text: str, known: bool) -> None:
        """Load a FINN folding into the editor as one undoable edit; ``known``: its report is shown already."""
        after = self.folding_model.with_folding(folding)
        if after == self.folding_model.values:
            return
        self._skip_live = known
        try:
            self.folding_model.change(after, text)  # synchronous: push -> redo -> folding_changed
        finally:
            self._skip_live = False

    def _folding_edited(self) -> None:
        if not self.folding_model.nodes or self.model_path is None:
            return
        self._save_state(folding=folding_record(self.folding_model.snapshot(), self.folding_model.model_key))
        if self._skip_live:
            self.live.cancel()
            return
        self._note(self.folding_note, "")
        self._mark_stale(True)
        self.live_label.setText("re-estimating…")
        self._show_instant()
        self.live.request(self._payload())

    def _show_instant(self) -> None:
        """The edited folding's figures from the option tables, at once; the table and chart stay marked until
        FINN's re-estimate confirms them."""
        figures = self.instant.figures(self.folding_model.folding(), self.clock_mhz) if self.instant else None
        if figures is None:
            return
        self._show_report(instant_report(figures, self.clock_mhz, self.board),
                          "instant: FINN's per-node estimates from the option tables; FINN's re-estimate confirms",
                          editor=False)
        self._mark_stale(True, "confirming with FINN…")
        self.live_label.setText("instant figures; confirming with FINN…")

    def _live_done(self, report: BuildReport, payload: dict[str, Any], seconds: float) -> None:
        if payload["model"] != self.model_path or payload["sha"] != self.folding_model.model_key:
            return
        self._show_report(report, "live re-estimate of the editor's folding")
        self.live_label.setText(f"confirmed by FINN's re-estimate in {seconds:.2f} s")

    def _live_failed(self, error: BaseException, payload: dict[str, Any]) -> None:
        if payload["model"] != self.model_path:
            return
        self.live_label.setText("")
        self._mark_stale(True, "not re-estimated: FINN rejected the edited folding (figures are of the last one)")
        if isinstance(error, InputError):  # an illegal combination: say so where the edit was made
            self._note(self.folding_note, f"<span style='color:#b03a2e'><b>FINN rejects this folding:</b> "
                                      f"{html.escape(str(error))} (Ctrl+Z undoes the edit)</span>")
        else:
            self.services.error("Re-estimate failed", error)

    def _mark_stale(self, stale: bool, note: str = "re-estimating…") -> None:
        """Grey the figures while they belong to an earlier folding."""
        if self.chart is not None:
            self.chart.set_stale(stale, note)
        self.gauges.set_stale(stale, "not re-estimated" if note.startswith("not") else "updating…")
        for card in self.figures.cards.values():
            card.value.setEnabled(not stale)

    def _board_changed(self) -> None:
        self.refresh_tools()
        self._host_changed()
        self._show_gauges()
        if self.model_path is not None:
            keep = self.folding_model.snapshot()
            self.folding_model.clear()
            self.load_nodes(keep)  # legal values (URAM, ...) depend on the part

    def _clock_changed(self) -> None:
        if self.folding_model.nodes:
            self._folding_edited()

    def _target_changed(self, value: int) -> None:
        """The target typed here is the project's: saved through core (the manifest), then the verdict."""
        if self.project is None:
            self._typed_target = int(value)
        elif not self.project.read_only:
            try:
                set_target_fps(self.project, int(value))
            except (InputError, OSError) as exc:
                self.services.error("Cannot save the target frame rate", exc)
        self._refresh_verdict()

    def _verdict_target(self) -> int | None:
        """What "Keeps up?" and the cycles chart measure against: the project's target frame rate (none yet: no
        verdict, rather than one against the field's placeholder), or with no project what was typed here."""
        return project_target_fps(self.project) if self.project is not None else self._typed_target

    def _refresh_verdict(self) -> None:
        if self.report is not None:
            self._show_report(self.report, self._origin, self._origin_editor)

    def _verdict(self, report: BuildReport | None) -> Any:
        fps = report.fps if report is not None else None
        return target_verdict(fps.value if fps else None, self._verdict_target(), fps.source if fps else "")

    def _mode_changed(self) -> None:
        self._update_enabled()
        if self.report is not None:
            self._show_report(self.report, self._origin, self._origin_editor)

    # ----------------------------------------------------------------- builds: estimate, HLS, bitfile
    def start_estimate(self) -> Job | None:
        if self.model_path is None:
            return None
        config = self._build_config(BuildKind.ESTIMATE)
        return self.run_build(config, f"Estimate {self.model_path.name} on {config.board} @ {config.clock_mhz:g} MHz",
                              "estimate build")

    def _build_done(self, report: BuildReport, origin: str, config: BuildConfig) -> None:
        self.steps.finish("done", report.time_per_step)
        self.explanations.set_explanations([])
        self.refresh_builds()
        in_editor = config.folding == self.folding_model.folding() and not config.start_step
        if config.target_fps and report.folding and self.folding_model.nodes:
            self._load_folding(report.folding, f"SetFolding for {config.target_fps:,} fps", known=True)
            in_editor = True
        self._show_report(report, f"{origin} {report.build_dir.name if report.build_dir else ''}".strip(),
                          editor=in_editor)
        self.services.status(f"{origin}: {report.fps.value:,.0f} fps ({report.fps.source})" if report.fps else origin)

    def start_codegen(self) -> Job | None:
        if self.model_path is None:
            return None

        def sources(report: BuildReport) -> None:
            if report.build_dir is not None:
                self.services.status(f"HLS/RTL sources in {report.build_dir / 'codegen'}", 15000)

        job = self.run_build(self._build_config(BuildKind.HLS), f"HLS code for {self.model_path.name} ({self.board})",
                             "HLS codegen", then=sources)
        if job is not None:
            self.tabs.setCurrentIndex(1)
        return job

    def start_full_build(self) -> Job | None:
        if self.model_path is None or self._bitfile_reason():
            return None
        # locally the stage gives it a worker of its own: the shared one stays free for live re-estimates
        job = self.run_build(self._build_config(BuildKind.BITFILE),
                             f"Full build {self.model_path.name} → {self.board} bitfile", "full build")
        if job is not None:
            self.tabs.setCurrentIndex(1)
        return job

    def resume_build(self, step: str | None = None) -> Job | None:
        """Resume the selected failed or cancelled build from ``step`` (default: the step it stopped in), where
        it ran and with the configuration it was started with."""
        record = self.builds_list.selected_record()
        if record is None or self.model_path is None:
            return None
        step = step or record.resume_step
        if step is None:
            return None
        base = record.config() or self._build_config(record.kind or BuildKind.ESTIMATE).with_(
            board=record.board or self.board, clock_mhz=record.clock_mhz or self.clock_mhz, host=record.build_host())
        host = base.host
        if host is not None and host.name in self._passwords:
            host = host.with_password(self._passwords[host.name])
        config = base.with_(start_step=step, out_dir=record.folder, host=host)
        self.tabs.setCurrentIndex(1)
        return self.run_build(config, f"Resume {record.name} at {step}", "resumed build")

    # ----------------------------------------------------------------- auto-fit
    def start_autofit(self) -> Job | None:
        from foldwise.core.finn.autofit import autofit

        if self.model_path is None or self.busy or self.fields_refused():
            return None
        model, board, clock, budget = self.model_path, self.board, self.clock_mhz, self._budget()
        baseline, worker = self.compare_box.isChecked(), self.worker
        def work(ctx: JobContext) -> Any:
            return autofit(model, board=board, clock_mhz=clock, budget_lut=budget, budget_bram=budget,
                           budget_dsp=budget, budget_uram=budget, baseline=baseline, worker=worker, ctx=ctx)

        def done(result: Any) -> None:
            if model != self.model_path:
                return
            self.autofit_result.setText(autofit_text(result.to_dict(), budget))
            self._save_state(autofit={"result": result.to_dict(), "budget": budget})
            if self.folding_model.nodes:
                self._load_folding(result.folding, "Auto-fit folding", known=True)
            self._show_report(result.report, "auto-fit (FINN re-estimate of the found folding)")

        return self.run_job(f"Auto-fit {model.name} on {board} ({budget:.0%} budget)", work, on_done=done)

    def start_bitfit(self) -> Job | None:
        """Search per-layer weight bits (and the folding of each) for the current quantized iteration."""
        from foldwise.core.finn.bitfit import autofit_bits

        project, iteration = self.project, self.iteration
        if project is None or iteration is None or self.busy or not is_quantized(iteration) or self.fields_refused():
            return None
        board, clock, budget, loss = self.board, self.clock_mhz, self._budget(), self.bitfit_loss.value()
        rounds, acts, worker = self.bitfit_rounds, self.bitfit_acts.isChecked(), self.worker
        def work(ctx: JobContext) -> Any:  # the panel's warm worker: FINN's import is paid already
            return autofit_bits(project, board=board, clock_mhz=clock, budget_lut=budget, budget_bram=budget,
                                budget_dsp=budget, max_loss_points=loss, max_rounds=rounds, acts=acts,
                                worker=worker, ctx=ctx)

        def done(result: Any) -> None:
            saved = result.to_dict()
            if iteration is not self.iteration or self.source != "project":
                # the panel moved on: keep it with the iteration it belongs to all the same
                save_build_state(iteration, bitfit={"result": saved, "budget": budget})
                return
            self._save_state(bitfit={"result": saved, "budget": budget})
            self._bits_file = self._write_bits_file(iteration, saved)
            self.autofit_result.setText(bitfit_text(saved, budget))
            self.use_bits_button.setVisible(any(t.accepted for t in result.trials) and self._bits_file is not None)
            self._update_enabled()

        return self.run_job(f"Auto-fit bit widths of {iteration.label} on {board} ({budget:.0%} budget)", work,
                            on_done=done)

    def use_found_bits(self) -> bool:
        """Load the bit widths found into the Quantize stage and switch to it."""
        window = self.services.window
        panels = list(getattr(window, "panels", []))
        target = next((p for p in panels if p.title == "Quantize"), None)
        if self._bits_file is None or target is None:
            return False
        window.show_stage(panels.index(target))  # type: ignore[attr-defined]  (first: showing it adopts settings)
        if not target.load_overrides(str(self._bits_file)):
            return False
        self.services.status("Bit widths from auto-fit loaded: Quantize (or Quantize + QAT) to make the iteration")
        return True

    # ----------------------------------------------------------------- builds
    def reopen_build(self, folder: Path | None) -> None:
        if folder is None:
            return
        folder = Path(folder)
        self.tabs.setCurrentIndex(1)
        self.log_view.set_text(read_build_log(folder))
        self.steps.start()
        try:
            report = read_build_reports(folder)
        except FoldwiseError as exc:
            self.steps.finish("failed")
            self.explanations.set_explanations(explain(self.log_view.plain_text()), str(exc))
            self.load_folding_button.setEnabled(False)
            return
        self.steps.finish("done", report.time_per_step)
        self.explanations.set_explanations([])
        self._show_report(report, f"build {folder.name}", editor=False)
        self.load_folding_button.setEnabled(bool(report.folding) and bool(self.folding_model.nodes))

    def save_folding_dialog(self) -> None:
        if not self.folding_model.nodes or self.model_path is None:
            return
        start = str(self.model_path.with_name(f"{self.model_path.stem}.folding.json"))
        path, _ = QFileDialog.getSaveFileName(self, "Save FINN folding config", start, "JSON (*.json)")
        if path:
            self.save_folding(Path(path))

    def save_folding(self, path: Path) -> Path | None:
        try:
            return save_folding(self.folding_model.folding(), path)
        except OSError as exc:
            self.services.error("Cannot save the folding", exc)
            return None

    def load_folding_dialog(self) -> None:
        if not self.folding_model.nodes or self.model_path is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load FINN folding config", str(self.model_path.parent),
                                              "JSON (*.json)")
        if path:
            self.load_folding_file(Path(path))

    def load_folding_file(self, path: Path) -> bool:
        """Load a FINN folding JSON into the editor (one undoable edit) after checking it against the model."""
        if self.hw is None:
            return False
        try:
            folding = build.validate_folding(path, self.hw)
        except FoldwiseError as exc:
            self.services.error("Cannot load this folding", exc)
            return False
        self._load_folding(folding.to_dict(), f"Load folding {path.name}", known=False)
        return True

    def load_report_folding(self) -> None:
        if self.report is not None and self.report.folding and self.folding_model.nodes:
            self._load_folding(self.report.folding, "Load a build's folding", known=False)

    # ================================================================= results
    _origin = ""
    _origin_editor = True

    def _show_report(self, report: BuildReport | None, origin: str = "", editor: bool = True) -> None:
        """Figures, gauges and chart for ``report``; ``editor``: it estimates the editor's folding (the table's
        per-node columns then show it too)."""
        self.report, self._origin, self._origin_editor = report, origin, editor
        self._mark_stale(False)
        cards = self.figures.cards
        if report is None:
            self.figures.set_metrics({})
            self.origin_label.setText("")
            self._show_gauges()
            if self.chart is not None:
                self.chart.clear()
            return
        self._show_gauges()
        show_figures(cards, report, self.gauges.worst(), self._verdict(report))
        self.origin_label.setText(origin_text(report, origin, self.board, self.clock_mhz))
        names = [n["name"] for n in self.folding_model.nodes] or list(report.node_cycles)
        if editor and self.folding_model.nodes and set(report.node_cycles) <= set(names):
            self.folding_model.set_report(report)
        cycles = [report.node_cycles.get(n, 0) for n in names if n in report.node_cycles]
        names = [n for n in names if n in report.node_cycles]
        target, target_fps = None, self._verdict_target()
        if report.clock_ns and target_fps:  # cycles per frame the clock allows at the target frame rate
            target = 1e9 / report.clock_ns / target_fps
        self._ensure_chart().set_data(names, cycles, report.bottleneck, target_cycles=target, target_fps=target_fps)
        if editor and report.fps is not None:
            clock = 1000 / report.clock_ns if report.clock_ns else self.clock_mhz
            self._save_state(estimate=estimate_record(report.fps.value, report.board or self.board, clock,
                                                      report.fps.source))

    def _show_gauges(self) -> None:
        budget = self._budget()
        board = get_board(self.board)
        self.gauges.set_report(self.report, {**board.capacity(), DRAM: int(board.dram_mb_s or 0)},
                               dict.fromkeys(("LUT", "BRAM_18K", "DSP", "URAM", DRAM), budget))


def _preview() -> None:  # pragma: no cover - manual preview
    import sys
    import tempfile

    from PySide6.QtWidgets import QApplication, QMainWindow

    from foldwise.gui.jobs import JobsController

    app = QApplication.instance() or QApplication(sys.argv)
    window = QMainWindow()
    services = AppServices(jobs=JobsController(parent=window), window=window)
    panel = BuildPanel(services)
    window.setCentralWidget(panel)
    window.resize(1400, 900)
    window.show()
    if len(sys.argv) > 1:
        panel.set_model(Path(sys.argv[1]), "file")
    else:
        from foldwise.core.finn.zoo import export_zoo_model

        panel.set_model(export_zoo_model("tfc_1w1a", Path(tempfile.mkdtemp()) / "tfc_w1a1.onnx"), "file")
    app.exec()
    get_worker().close()


if __name__ == "__main__":
    _preview()
