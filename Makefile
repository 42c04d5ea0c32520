# Foldwise: `make run` sets up and opens the GUI on a shipped example; `make test` sets up and runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.foldwise-installed
EXAMPLE ?= defect-demo
RUN_PROJECT ?= work/$(EXAMPLE)
SCREENSHOT_PROJECT ?=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup system-deps run test lint bench screenshots lock clean

setup: system-deps $(STAMP)

# Debian packages (xvfb, openssh-server, ...): installs what is missing, or names it and stops.
system-deps:
	@bash packaging/system-deps

# Re-runs only when the pins or the package metadata change, so a second `make run` starts at once.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	# finn-plus pins brevitas==0.13.0, which cannot export with torch 2.13: take it without its deps.
	$(PY) -m pip install -q --no-deps finn-plus==1.6.1
	# onnx2torch declares torchvision, which on PyPI is built for CUDA torch: its other deps are all above.
	$(PY) -m pip install -q --no-deps onnx2torch==1.5.15
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

bench: setup
	$(PY) benchmarks/run_all.py

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
	rm -rf $(VENV) work .pytest_cache
