"""Board stage: the saved PYNQ boards, what each one has (Probe, with the fix for each missing piece), putting
the user's public key on it, pushing a folder (a deployment package) to it over SSH, emulated boards, Deploy
(run the current iteration's build on the board) and its Profile.

A thin panel over :mod:`foldwise.core.board`: every connection runs as a job through
:meth:`StagePanel.run_job`. A board's password is typed here for this session only (asked for when a board
needs one); an unknown host key is a question showing its fingerprint (:func:`foldwise.gui.host_trust`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.board.deploy import DeployResult, deploy
from foldwise.core.board.emulate import EmulatedBoard, emulated_dir, running, start_emulated_board, stop_emulated_board
from foldwise.core.board.keys import after_key_install, default_public_key, install_public_key
from foldwise.core.board.probe import ProbeReport, probe_board
from foldwise.core.board.profiles import Auth, BoardProfile, remove_board, save_board, saved_boards
from foldwise.core.board.push import PushResult, push_to_board
from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.jobs import Job
from foldwise.core.remote.target import UnknownHostKeyError
from foldwise.gui.board.baselines_view import BaselinesView
from foldwise.gui.board.board_dialog import BoardDialog
from foldwise.gui.board.deploy_form import DeployForm
from foldwise.gui.board.probe_table import ProbeTable
from foldwise.gui.board.profile_view import ProfileView
from foldwise.gui.fields import NumberField
from foldwise.gui.host_trust import ask_to_trust
from foldwise.gui.panels.base import AppServices, StagePanel

Action = Callable[[str | None], Job | None]  # (trust fingerprint) -> the job it started


class BoardPanel(StagePanel):
    title = "Board"
    icon = "board"
    summary = "PYNQ boards over SSH: profiles, probe, public key, push, emulated boards, deploy and profile"

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self._boards: dict[str, BoardProfile] = {}
        self._passwords: dict[str, str] = {}  # this session only, never saved
        self._retry: Action | None = None  # the last connecting action, re-run once a host key is trusted
        self.reports: dict[str, ProbeReport] = {}
        self.last_push: PushResult | None = None
        self.last_deploy: DeployResult | None = None
        self._emulated: set[str] = set()  # boards a probe or deploy found emulated
        self._build()
        self.refresh_boards()

    def _build(self) -> None:
        self.board_list = QListWidget()
        self.board_list.setObjectName("boardList")
        self.add_button, self.remove_button = QPushButton("Add…"), QPushButton("Remove")
        self.emulate_button, self.stop_button = QPushButton("Start emulated…"), QPushButton("Stop")
        self.emulate_button.setToolTip("A software board on 127.0.0.1 (an sshd of your account) that runs FINN's "
                                       "dataflow model: for builds without a bitfile, or without hardware")
        self.stop_button.setToolTip("Stop the selected emulated board (its profile and run records stay)")
        self.deploy_form = DeployForm()
        self.profile = ProfileView()
        self.password = QLineEdit()
        self.password.setObjectName("boardPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password (this session only, never saved)")
        self.probe_button, self.key_button = QPushButton("Probe"), QPushButton("Install my public key")
        self.push_button = QPushButton("Push folder…")
        self.keep = NumberField()
        self.fields.add(self.keep)
        self.keep.setRange(1, 50)
        self.keep.setValue(3)
        self.keep.setPrefix("keep last ")
        self.keep.setToolTip("Deployments of the same group kept on the board; older ones are deleted")
        self.status = QLabel()
        self.status.setObjectName("boardStatus")
        self.status.setWordWrap(True)
        self.table = ProbeTable()
        self.push_note = QLabel()
        self.push_note.setObjectName("pushNote")
        self.push_note.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Boards</b>"))
        left.addWidget(self.board_list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.emulate_button)
        row.addWidget(self.stop_button)
        left.addLayout(row)
        probe_page = QWidget()
        right = QVBoxLayout(probe_page)
        actions = QHBoxLayout()
        for widget in (self.password, self.probe_button, self.key_button, self.push_button, self.keep):
            actions.addWidget(widget)
        right.addLayout(actions)
        right.addWidget(self.keep.message)
        right.addWidget(self.status)
        right.addWidget(self.table, 1)
        right.addWidget(self.push_note)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("boardTabs")
        self.tabs.addTab(probe_page, "Probe && push")
        self.tabs.addTab(self.deploy_form, "Deploy")
        self.tabs.addTab(self.profile, "Profile")
        self.baselines = BaselinesView(self, lambda: self.board, self._start)
        self.tabs.addTab(self.baselines, "Baselines")
        column = QVBoxLayout()
        column.addWidget(self.tabs, 1)
        self.add_inline_progress(column, tooltip="Stop; a push resumes where it stopped, a run is killed on the "
                                                 "board")
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(column, 3)
        self.board_list.currentItemChanged.connect(lambda *_: self._board_changed())
        self.add_button.clicked.connect(self.add_board_dialog)
        self.remove_button.clicked.connect(self.remove_current_board)
        self.probe_button.clicked.connect(lambda: self.probe())
        self.key_button.clicked.connect(lambda: self.install_key())
        self.push_button.clicked.connect(lambda: self.push())
        self.emulate_button.clicked.connect(lambda: self.start_emulated())
        self.stop_button.clicked.connect(self.stop_emulated)
        self.deploy_form.run_requested.connect(lambda: self.deploy())
        self.deploy_form.fields.changed.connect(self._update_enabled)
        self.tabs.currentChanged.connect(lambda _i: self.project_changed())  # builds made meanwhile show up

    # ----------------------------------------------------------------- the saved boards
    def refresh_boards(self, select: str | None = None) -> None:
        """Fill the list from the saved boards (the list `foldwise board list` shows)."""
        current = select if select is not None else (self.board.name if self.board else "")
        try:
            boards = saved_boards()
        except FoldwiseError as exc:
            self.services.error("Cannot read the saved boards", exc)
            boards = []
        self._boards = {b.name: b for b in boards}
        self.board_list.clear()
        for b in boards:
            emulated = self.emulated_state(b.name)
            item = QListWidgetItem(f"{b.name}  ({b.display})" + (f"  [emulated{emulated}]" if emulated is not None
                                                                 else ""))
            item.setData(256, b.name)
            item.setToolTip(f"{b.display}, log in by {b.auth.value}")
            self.board_list.addItem(item)
            if b.name == current:
                self.board_list.setCurrentItem(item)
        if self.board_list.currentItem() is None and boards:
            self.board_list.setCurrentRow(0)
        self._board_changed()

    @property
    def board(self) -> BoardProfile | None:
        item = self.board_list.currentItem()
        return self._boards.get(item.data(256)) if item is not None else None

    def add_board_dialog(self) -> None:
        dialog = BoardDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.add_board(dialog.board())

    def add_board(self, board: BoardProfile) -> None:
        """Save ``board`` through core and select it."""
        try:
            save_board(board)
        except FoldwiseError as exc:
            self.services.error("Cannot save the board", exc)
            return
        self.refresh_boards(select=board.name)

    def remove_current_board(self) -> None:
        board = self.board
        if board is not None:
            remove_board(board.name)
            self._passwords.pop(board.name, None)
            self.refresh_boards(select="")

    def set_busy(self, busy: bool) -> None:
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = self.board is not None and not self.busy
        for widget in (self.probe_button, self.key_button, self.push_button, self.remove_button):
            widget.setEnabled(has and (widget is not self.push_button or self.fields.ok))
        self.add_button.setEnabled(not self.busy)
        self.emulate_button.setEnabled(not self.busy)
        self.stop_button.setEnabled(has and self.emulated_state(self.board.name) == ", running")
        self.deploy_form.run_button.setEnabled(has and self.project is not None and not self.deploy_form.why_not())
        self.deploy_form.run_button.setToolTip(self.deploy_form.why_not())
        self.password.setEnabled(has)

    def _board_changed(self) -> None:
        board = self.board
        self._update_enabled()
        self.profile.show_for(self.project, board.name if board else None)
        if board is None:
            self.status.setText("No board yet: Add… one (a PYNQ image logs in as xilinx / xilinx).")
            self.table.setRowCount(0)
            return
        self.password.setText(self._passwords.get(board.name, ""))
        report = self.reports.get(board.name)
        if report is None:
            self.table.setRowCount(0)
            self.status.setText(html.escape(f"{board.display}, log in by {board.auth.value}: not probed yet"))
        else:
            self._show_report(report)

    # ----------------------------------------------------------------- connecting jobs
    def _password_or_ask(self, board: BoardProfile, again: Action) -> tuple[bool, str | None]:
        """(go on?, password): a password board without one typed gets a question, then ``again`` runs."""
        typed = self.password.text() or self._passwords.get(board.name)
        if typed:
            self._passwords[board.name] = typed
            return True, typed
        if not board.needs_password:
            return True, None
        dialog = QInputDialog(self)
        dialog.setObjectName("boardPasswordDialog")
        dialog.setLabelText(f"SSH password for {board.display} (kept for this session, never saved):")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.textValueSelected.connect(lambda text: (self.password.setText(text), again(None)))
        dialog.open()
        return False, None

    def _start(self, title: str, work: Callable, on_done: Callable, again: Action,
               login: BoardProfile | None = None, **callbacks: Callable) -> Job | None:
        """Run ``work(board, password, ctx)`` as a job; ``login``: the profile whose auth decides on a password."""
        board = self.board
        if board is None or self.busy:
            return None
        go, password = self._password_or_ask(login or board, again)
        if not go:
            return None
        self._retry = again
        return self.run_job(f"{title} {board.name}", lambda ctx: work(board, password, ctx), on_done=on_done,
                            **callbacks)

    def probe(self, trust_fingerprint: str | None = None) -> Job | None:
        """Log in to the board and show what it has (each figure measured), with the fix for each missing piece."""
        return self._start("Probe board",
                           lambda board, pw, ctx: probe_board(board, ctx, password=pw,
                                                              trust_fingerprint=trust_fingerprint),
                           self._probed, self.probe)

    def install_key(self, public_key: Path | None = None, trust_fingerprint: str | None = None) -> Job | None:
        """Put the user's public key on the board; the profile then logs in by key."""
        board = self.board
        if board is None:
            return None
        try:
            public = public_key or default_public_key(board)
        except FoldwiseError as exc:
            self.services.error("No public key to install", exc)
            return None
        by_password = replace(board, auth=Auth.PASSWORD, key=None)  # the key is not on the board yet

        def done(added: bool) -> None:
            self.add_board(after_key_install(board, public))
            self.services.status(f"{public} {'added to' if added else 'was already on'} {board.display}")

        return self._start("Install public key on",
                           lambda _b, pw, _ctx: install_public_key(by_password, public, password=pw,
                                                                   trust_fingerprint=trust_fingerprint),
                           done, lambda fp: self.install_key(public, fp), login=by_password)

    def push(self, folder: Path | None = None, trust_fingerprint: str | None = None) -> Job | None:
        """Push ``folder`` (asked for if None) to the board: only changed files, resumable, keep the last N."""
        if self.fields_refused():
            return None
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Folder to push to the board")
            if not chosen:
                return None
            folder = Path(chosen)
        keep = self.keep.value()
        return self._start("Push to board",
                           lambda board, pw, ctx: push_to_board(board, folder, ctx, keep=keep, password=pw,
                                                                trust_fingerprint=trust_fingerprint),
                           self._pushed, lambda fp: self.push(folder, fp))

    # ----------------------------------------------------------------- emulated boards, deploy
    def emulated_state(self, name: str) -> str | None:
        """None for a real board, else "" (emulated), ", running" or ", stopped" (started from Foldwise)."""
        try:
            if running(name) is not None:
                return ", running"
            if emulated_dir(name).is_dir():
                return ", stopped"
        except FoldwiseError:
            return None
        return "" if name in self._emulated else None

    def start_emulated(self, name: str | None = None) -> Job | None:
        """Start (or find running) the emulated board ``name`` (asked for when None); the list then shows it."""
        if self.busy:
            return None
        if name is None:
            dialog = QInputDialog(self)
            dialog.setObjectName("emulatedNameDialog")
            dialog.setLabelText("Name of the emulated board (a software board on 127.0.0.1 running FINN's "
                                "dataflow model):")
            dialog.setTextValue("emulated")
            dialog.textValueSelected.connect(lambda text: self.start_emulated(text.strip()))
            dialog.open()
            return None
        if name in self._boards and self.emulated_state(name) is None:
            self.services.error("Cannot start the emulated board", InputError(
                f"{name} is a saved board already: pick another name for the emulated board"))
            return None

        def done(started: EmulatedBoard) -> None:
            self.refresh_boards(select=started.name)
            self.services.status(f"Emulated board {started.name} runs on 127.0.0.1:{started.port}")

        return self.run_job(f"Start emulated board {name}", lambda _ctx: start_emulated_board(name), on_done=done)

    def stop_emulated(self) -> Job | None:
        board = self.board
        if board is None or self.busy:
            return None
        return self.run_job(f"Stop emulated board {board.name}", lambda _ctx: stop_emulated_board(board.name),
                            on_done=lambda _stopped: self.refresh_boards())

    def deploy(self, trust_fingerprint: str | None = None) -> Job | None:
        """Run the current iteration's chosen build on the board (Deploy tab), its log streamed there."""
        project, board = self.project, self.board
        if project is None or board is None or self.busy:
            return None
        try:
            spec = self.deploy_form.spec(board.name)
        except FoldwiseError as exc:
            self.services.error("Cannot deploy", exc)
            return None
        self.deploy_form.show_failure(None)
        self.deploy_form.log.clear()

        def work(_board: BoardProfile, password: str | None, ctx: Any) -> DeployResult:
            return deploy(project, replace(spec, password=password, trust_fingerprint=trust_fingerprint), ctx)

        return self._start("Deploy to", work, self._deployed, self.deploy, on_log=self.deploy_form.log.append,
                           on_failed=self._deploy_failed)

    def _deployed(self, result: DeployResult) -> None:
        self.last_deploy = result
        if result.emulated and result.board not in self._emulated:
            self._emulated.add(result.board)
            self.refresh_boards(select=result.board)
        self.deploy_form.note.setText(html.escape(
            f"Ran build {result.build} ({result.accelerator}) on {'emulated board' if result.emulated else 'board'} "
            f"{result.board}: {', '.join(r.kind for r in result.runs)}. See the Profile tab."))
        self.profile.refresh()
        self.tabs.setCurrentWidget(self.profile)

    def _deploy_failed(self, job: Job) -> None:
        self.deploy_form.show_failure(job.error)
        self.tabs.setCurrentWidget(self.deploy_form)  # where the explanation and the runner's log are
        self.profile.refresh()  # a failed run leaves its record; the figures stay those of the last good one

    def project_changed(self) -> None:
        self.deploy_form.set_iteration(self.project.current if self.project is not None else None)
        self.profile.show_for(self.project, self.board.name if self.board else None)
        self.baselines.refresh()
        self._update_enabled()

    def show_job_error(self, job: Job) -> None:
        """An unknown host key is a question (trust it?), not an error; the rest as every panel."""
        if isinstance(job.error, UnknownHostKeyError) and self._retry is not None:
            ask_to_trust(self.services.window, job.error, "board host", self._retry)
            return
        super().show_job_error(job)

    # ----------------------------------------------------------------- results
    def _probed(self, report: ProbeReport) -> None:
        self.reports[report.board] = report
        if report.board not in self._emulated and any(i.key == "accelerator" and i.value == "emulated"
                                                      for i in report.items):
            self._emulated.add(report.board)
            self.refresh_boards()
        if self.board is not None and self.board.name == report.board:
            self._show_report(report)

    def _show_report(self, report: ProbeReport) -> None:
        self.table.show_report(report)
        state = "ready for a deployment" if report.ready else f"{len(report.fixes)} thing(s) to fix (see Fix)"
        self.status.setText(html.escape(f"{report.address}: runtime {report.runtime or 'none'}; {state}. "
                                        f"Figures measured on the board; host key {report.host_fingerprint}"))

    def _pushed(self, result: PushResult) -> None:
        self.last_push = result
        if result.unchanged:
            text = f"Unchanged: {result.deployment} already holds this folder."
        else:
            text = (f"Pushed to {result.deployment}: {len(result.uploaded)} uploaded, "
                    f"{len(result.copied_on_board)} copied on the board, {len(result.resumed)} resumed; "
                    f"{result.bytes_sent / 1e6:.2f} MB at {result.mb_per_s:.1f} MB/s (measured).")
        if result.removed:
            text += f" Removed older: {', '.join(result.removed)}."
        self.push_note.setText(html.escape(text))


if __name__ == "__main__":  # preview: python -m foldwise.gui.panels.board_panel
    import sys

    from PySide6.QtWidgets import QApplication, QMainWindow

    from foldwise.gui.jobs import JobsController

    app = QApplication(sys.argv)
    window = QMainWindow()
    window.setCentralWidget(BoardPanel(AppServices(JobsController(window), window)))
    window.resize(1100, 600)
    window.show()
    sys.exit(app.exec())
