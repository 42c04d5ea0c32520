# Foldwise: `make run` sets up and opens the GUI on a shipped example; `make test` sets up and runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.foldwise-installed
EXAMPLE ?= defect-demo
RUN_PROJECT ?= work/$(EXAMPLE)
SCREENSHOT_PROJECT ?=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup system-deps run test lint bench screenshots check-wheel package check-package lock clean

setup: system-deps $(STAMP)

# Debian packages (xvfb, openssh-server, ...): installs what is missing, or names it and stops.
system-deps:
	@bash packaging/system-deps

# Re-runs only when the pins or the package metadata change, so a second `make run` starts at once.
$(STAMP): requirements.lock requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	# finn-plus and onnx2torch without their declared deps (why: see the file's comments).
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

run: setup
	test -f $(RUN_PROJECT)/manifest.json || $(VENV)/bin/foldwise new $(RUN_PROJECT) --example $(EXAMPLE)
	$(VENV)/bin/foldwise gui $(RUN_PROJECT)

test: setup lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check app tests benchmarks tools
	$(VENV)/bin/lint-imports

# ONLY="bench_a bench_b" re-runs those and updates only their entries in benchmarks/results.json.
bench: setup
	$(PY) benchmarks/run_all.py $(ONLY)

# The wheel in a fresh venv holding the pinned stack: --version, new --example, the window offscreen (2-5 min).
check-wheel: setup
	$(PY) -m tools.wheel_check --stack lock

# The one-folder desktop app (PyInstaller, CPU torch from the venv) in dist/foldwise/, then its smoke check.
package: setup
	$(PY) -m pip install -q -r packaging/requirements-package.txt
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/foldwise.spec
	install -Dm644 packaging/org.foldwise.Foldwise.desktop dist/foldwise/share/applications/org.foldwise.Foldwise.desktop
	install -Dm644 packaging/org.foldwise.Foldwise.metainfo.xml dist/foldwise/share/metainfo/org.foldwise.Foldwise.metainfo.xml
	install -Dm644 resources/icons/foldwise.svg dist/foldwise/share/icons/hicolor/scalable/apps/foldwise.svg
	$(PY) -m tools.package_check dist/foldwise

# The packaged app trains, quantizes and runs FINN's estimate (its FINN worker is the packaged program itself).
check-package:
	$(PY) -m tools.package_check dist/foldwise --finn

screenshots: setup
	xvfb-run -a -s "-screen 0 1280x800x24" $(PY) -m foldwise.gui.screenshots docs/screenshots $(SCREENSHOT_PROJECT)

# Refresh requirements.lock from requirements.in in a scratch venv.
lock:
	rm -rf /tmp/foldwise-lock && $(PYTHON) -m venv /tmp/foldwise-lock
	/tmp/foldwise-lock/bin/pip install -q -r requirements.in
	{ head -2 requirements.lock; /tmp/foldwise-lock/bin/pip freeze | grep -vi '^finn-plus' \
	  | sed 's/^torch==\(.*\)+cpu/torch==\1/'; \
	  echo "setuptools==$$(/tmp/foldwise-lock/bin/pip show setuptools | awk '/Version/{print $$2}')"; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) work .pytest_cache build dist
