# Self-installing entry points. `make test` and `make demo` set up everything on a fresh
# machine, in order, each step once: a stamp file in .venv/.stamps marks a finished step, so a second
# run skips straight to the tests. Every version comes from requirements/lock.txt (a pip constraints
# file): change a pin there and the steps after it rerun.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
LOCK := requirements/lock.txt
PIP_INSTALL := $(PIP) install --disable-pip-version-check -c $(LOCK)
STAMPS := $(VENV)/.stamps
# The compiled op is rebuilt when its C++/CUDA sources or setup.py change (Python files are editable).
OP_SOURCES := setup.py $(shell find custom_ops -name '*.cpp' -o -name '*.cu' -o -name '*.h' 2>/dev/null)
PYTEST_ARGS ?= -q

.PHONY: install test demo clean-venv

install: $(STAMPS)/project

test: install
	$(PY) -m pytest $(PYTEST_ARGS) tests

# The offline demo: toy VOC data, stand-in pre-training, 4-step training, evaluation, pictures.
demo: install
	$(PY) tools/demo/demo.py $(DEMO_ARGS)

$(PY):
	$(PYTHON) -m venv $(VENV)

# 1. torch first: a pinned CPU build; any unpinned requirement would pull a multi-GB CUDA build.
$(STAMPS)/torch: $(LOCK) | $(PY)
	@mkdir -p $(STAMPS)
	$(PIP_INSTALL) torch
	@touch $@

# 2. Build tools for mmcv's and our own C++ extension (mmcv 2.1.0's setup.py needs setuptools<70).
$(STAMPS)/build-tools: $(STAMPS)/torch
	$(PIP_INSTALL) setuptools wheel ninja numpy
	@touch $@

# 3. mmcv 2.1.0 exists only as source: compile it with its ops once (pip caches the built wheel).
$(STAMPS)/mmcv: $(STAMPS)/build-tools
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(PIP_INSTALL) --no-build-isolation mmcv
	@touch $@

# 4. The rest of the runtime and test dependencies (seaborn, psutil: mmdet's analysis tools;
# protobuf: reading .caffemodel files).
$(STAMPS)/deps: $(STAMPS)/mmcv
	$(PIP_INSTALL) mmengine mmdet pycocotools protobuf pytest hypothesis seaborn psutil
	@touch $@

# 5. This project (plugin + compiled RoI-pooling op), editable.
$(STAMPS)/project: $(STAMPS)/deps $(OP_SOURCES)
	MAX_JOBS=2 $(PIP_INSTALL) --no-build-isolation --no-deps -e .
	@touch $@

clean-venv:
	rm -rf $(VENV)
