# Run `make help` for the list. Every target works from a fresh clone.
SHELL := /bin/bash
PY      := .venv/bin/python
VENV_OK := .venv/.installed
HTML    := _build/html
SPHINX  := .venv/bin/sphinx-build -c . -W --keep-going -n -q
PORT    ?= 8000

.DEFAULT_GOAL := all
.PHONY: all help venv book serve exercises release grade demo bench test system-deps clean

all: book exercises demo ## set up .venv, build the book and the exercises, grade the demo class

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(VENV_OK) ## create .venv with the pinned packages (only when requirements change)
$(VENV_OK): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

book: $(VENV_OK) ## build the HTML book into _build/html (cells run through a jupyter-cache)
	$(SPHINX) -b html book $(HTML)
	@echo "book: $(HTML)/index.html"

serve: book ## preview the book on http://localhost:$(PORT)
	$(PY) -m http.server -d $(HTML) $(PORT)

system-deps: ## install Debian's chromium and a CJK font (browser test); needs root and apt
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }
	@chromium --version

exercises: $(VENV_OK) ## regenerate exercises/ (the student release) from solutions/ with nbgrader
	$(PY) -c "from grader.course.release import build_exercises; build_exercises()"

DEMO   := _build/demo
COURSE ?= $(DEMO)
demo: $(VENV_OK) ## build the bundled demo class and grade it (what `make` ends with)
	$(PY) -m grader demo $(DEMO)
	$(PY) -m grader grade $(DEMO) --demo

grade: $(VENV_OK) ## grade every submission of COURSE (default: the demo class); FORCE=1 regrades all; SCHEDULER=tcp://HOST:PORT grades on a Dask cluster
	$(PY) -m grader grade $(COURSE) $(if $(FORCE),--force) $(if $(filter $(COURSE),$(DEMO)),--demo) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(GRADE_FLAGS)

EDITION ?= student
release: $(VENV_OK) ## build dist/$(EDITION)/ (EDITION=student|instructor): exercise archives and the book; refused on any leak
	$(PY) -m grader.course.release --edition $(EDITION)

bench: $(VENV_OK) exercises ## time `make grade` against plain nbgrader autograde on one generated batch; SCALE=1: 1,000 notebooks, local pool vs a local Dask cluster
	$(PY) -m grader.course.bench $(if $(SCALE),--scale,--students 10)

test: $(VENV_OK) ## run the test suite
	$(PY) -m pytest

clean: ## remove build outputs (keeps .venv)
	rm -rf _build dist
