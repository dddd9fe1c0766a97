# Run `make help` for the list. Every target works from a fresh clone.
SHELL := /bin/bash
PY      := .venv/bin/python
VENV_OK := .venv/.installed
HTML    := _build/html
SPHINX  := .venv/bin/sphinx-build -c . -W --keep-going -n -q
PORT    ?= 8000
# The book's languages (grader/i18n.py names them): zh_CN is the source, en comes through gettext.
# `make book LANGS=en` builds one edition.
LANGS   ?= zh_CN en

.DEFAULT_GOAL := all
.PHONY: all help venv book gettext pdf serve exercises release grade demo formgrader bench mutants test test-deps system-deps clean

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

book: $(VENV_OK) ## build the HTML book into _build/html/<lang>/ for each of LANGS (cells run through a jupyter-cache per language)
	@for lang in $(LANGS); do echo "book: $$lang"; $(SPHINX) -D language=$$lang -b html book $(HTML)/$$lang || exit 1; done
	@echo "book: $(HTML)/index.html ($(LANGS:%=$(HTML)/%/index.html))"

# The English edition's catalogs follow the Chinese source: extract every message (prose, headings,
# captions, alt text, code cells with Chinese, the extension's words) into .pot files, then merge
# them into book/locale/<lang>/LC_MESSAGES/*.po; edit the new and fuzzy entries, then `make book`.
GETTEXT := _build/gettext
gettext: $(VENV_OK) ## extract the book's messages into _build/gettext/*.pot and update book/locale/*/LC_MESSAGES/*.po (sphinx-intl)
	$(SPHINX) -b gettext book $(GETTEXT)
	.venv/bin/sphinx-intl update -p $(GETTEXT) -d book/locale $(foreach lang,$(filter-out zh_CN,$(LANGS)),-l $(lang))

PDF := _build/pdf
pdf: $(VENV_OK) ## print each edition to _build/pdf/numerical-stability.pdf (zh_CN) and numerical-stability.en.pdf (en) with headless Chromium (make system-deps)
	@$(PY) book/_ext/numstab_book/chromium.py
	@for lang in $(LANGS); do $(SPHINX) -D language=$$lang -b pdfhtml -D pdf_dir=$(PDF) book _build/pdfhtml/$$lang || exit 1; done
	@ls $(PDF)/*.pdf

serve: book ## preview the book on http://localhost:$(PORT) (both editions; / leads to the Chinese one)
	$(PY) -m http.server -d $(HTML) $(PORT)

# Only the browser: the book's font comes with the venv (pylopdf-fonts-zh-cn), not from the system.
system-deps: ## install Debian's chromium (browser tests, make pdf); needs root and apt
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

# `make test` provisions what the browser tests need where it can (root with apt), and says in one line
# what to do where it cannot; the browser tests then fail rather than skip.
test-deps:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then $(MAKE) --no-print-directory system-deps; \
	else echo "make test: chromium is missing and this user cannot install it: run 'sudo make system-deps' once (the browser tests fail until then)" >&2; fi

exercises: $(VENV_OK) ## regenerate exercises/ (the Chinese release) from solutions/ with nbgrader, and exercises/en/ (the English one)
	$(PY) -c "from grader.course.release import build_exercises; build_exercises()"

DEMO   := _build/demo
COURSE ?= $(DEMO)
demo: $(VENV_OK) ## build the bundled demo class and grade it (what `make` ends with)
	$(PY) -m grader demo $(DEMO)
	$(PY) -m grader grade $(DEMO) --demo

grade: $(VENV_OK) ## grade every submission of COURSE (default: the demo class); FORCE=1 regrades all; SCHEDULER=tcp://HOST:PORT grades on a Dask cluster
	$(PY) -m grader grade $(COURSE) $(if $(FORCE),--force) $(if $(filter $(COURSE),$(DEMO)),--demo) $(if $(BOOK_URL),--book-url $(BOOK_URL)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(GRADE_FLAGS)

# nbgrader 0.9's formgrader is a Jupyter server extension.  It runs from the repository root so that
# nbgrader_config.py is read, with NUMSTAB_COURSE_ROOT pointing it at COURSE; .venv/bin goes on PATH
# because nbgrader runs `alembic` by name to upgrade the gradebook.
FORMGRADER_PORT ?= 8890
formgrader: $(VENV_OK) ## nbgrader's formgrader on COURSE, for the written answers: http://localhost:8890/formgrader (FORMGRADER_PORT=…)
	@test -f $(COURSE)/gradebook.db || { echo "formgrader: no gradebook in $(COURSE); run make grade (or make demo) first"; exit 2; }
	PATH="$(CURDIR)/.venv/bin:$$PATH" NUMSTAB_COURSE_ROOT="$(abspath $(COURSE))" .venv/bin/jupyter server \
	  --ServerApp.root_dir="$(abspath $(COURSE))" --ServerApp.ip=127.0.0.1 --ServerApp.port=$(FORMGRADER_PORT) \
	  --ServerApp.port_retries=0 --ServerApp.open_browser=False $(if $(filter 0,$(shell id -u)),--allow-root) $(FORMGRADER_FLAGS)

EDITION ?= student
release: $(VENV_OK) ## build dist/$(EDITION)/ (EDITION=student|instructor): exercise archives, the book and its PDF; refused on any leak
	$(PY) -m grader.course.release --edition $(EDITION)

bench: $(VENV_OK) exercises ## time `make grade` against plain nbgrader autograde on one generated batch; SCALE=1: 1,000 notebooks, local pool vs a local Dask cluster
	$(PY) -m grader.course.bench $(if $(SCALE),--scale,--students 10)

mutants: $(VENV_OK) exercises ## grade every machine-made mutant of the solutions through the engine (one seed, local pool); print the mutation score per part
	$(PY) -m grader.course.mutants $(MUTANTS_FLAGS)

test: $(VENV_OK) test-deps ## run the test suite (installs chromium first where it can)
	$(PY) -m pytest

clean: ## remove build outputs (keeps .venv)
	rm -rf _build dist
