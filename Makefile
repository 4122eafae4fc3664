# Inside Neural Networks: setup, build, test.
#   make book   set up .venv, build the website into _build/html (every notebook executed), with the
#               course's wheel in it (downloads/), then its Chinese edition into _build/html/zh (from
#               the catalogues in locales/, no notebook executed again), and the offline copy of both,
#               _build/inside-neural-networks.zip
#   make pdf    the whole course as one PDF, _build/inside-neural-networks.pdf (printed from the built
#               site by Chromium: no notebook is executed again, no LaTeX)
#   make test   set up .venv, run every test (nnlib, notebooks, grader, website; both editions: the
#               Chinese catalogues complete and current, the zh/ notebooks under nbval, the Chinese site)
#   make serve  serve _build/html on http://127.0.0.1:8000
#   make lab    open the chapters and exercises in JupyterLab (EDITION=zh: the Chinese notebooks,
#               generated into zh/ from locales/ first)
#   make i18n-check  the Chinese catalogues, as make test checks them: untranslated, fuzzy, stale,
#               msgfmt --check, changed maths or references (locales/README.md)
#   make bench  run the benchmark suite (nnlib vs NumPy, PyTorch, scikit-learn); writes _build/bench.json
#   make bench-explore  time every exploration's live redraw in Jupyter (slider change -> finished
#               figure, p50/p95 per exploration, target p95 <= 150 ms; 1-3 minutes); writes
#               _build/bench-explore.json
#   make bench-grading  grade 1,000 generated submissions locally, on a 2-worker Dask cluster and in
#               4 shards merged (about 25 minutes); writes _build/bench-grading.json
#   (make vendor: fetch the website's pinned JavaScript with npm pack into .vendor/;
#    make browser: install Debian's chromium (and a CJK font) for the browser tests and the PDF if missing;
#    make sandbox: install Debian's bubblewrap, the grader's namespace sandbox, if it is missing;
#    make gettext: install Debian's gettext (msgfmt, msgmerge, xgettext) for the catalogues if missing)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The interpreter the course runs on: .venv's once it exists, else $(PYTHON), which creates it.
# Python 3.11 to 3.13 are supported (the pinned wheels, e.g. contourpy, need >= 3.11).
RUN_PYTHON = $(if $(wildcard $(PY)),$(PY),$(PYTHON))
STAMP := $(VENV)/.installed
WARM := $(VENV)/.nnlib-warm
PORT ?= 8000
VENDOR := .vendor/.stamp
SITE_STAMP := _build/.book.stamp
# The Chinese edition: notebooks generated into zh/ (git-ignored) and the site into _build/html/zh,
# rebuilt when the English site, a catalogue or the pipeline changed (locales/README.md).
ZH_STAMP := _build/.book-zh.stamp
ZH_SRC := tools/i18n.py $(shell find locales -type f 2>/dev/null)
# The course's wheel, offered by the site (tools/offline.py; its name is written in each chapter by
# tools/install_hint.py), the offline copy of the site, and the PDF.
WHEEL_STAMP := _build/site-extra/.wheel.stamp
ZIP := _build/inside-neural-networks.zip
PDF := _build/inside-neural-networks.pdf
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# --all: re-read every page, so every notebook is executed (force) and every warning is raised
# again; an incremental build would skip unchanged pages, their nnlib outputs and their warnings.
BOOK_BUILD := $(VENV)/bin/jupyter-book build . --path-output . -W -n --keep-going --all
# What the website is built from: a change to any of these rebuilds it before `make test`.
BOOK_SRC := _config.yml _toc.yml index.md pyproject.toml tools/nnsite.py tools/offline.py $(shell find chapters exercises nnlib nngrade api _static -type f \
	-not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' -not -path 'exercises/source/*' 2>/dev/null)

# One BLAS thread: nnlib's products are small (two threads lose below ~10 MFLOP per product, and
# oversubscribe the 2 cores when notebooks and tests run side by side). Override on the command line.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: setup book test serve lab bench bench-explore bench-grading clean vendor browser site sandbox python-check pdf
.PHONY: i18n-check gettext

setup: python-check $(STAMP) $(WARM)

# Stop at once, saying what is needed, rather than deep inside pip with an unsupported Python.
python-check:
	@v=$$($(RUN_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	case "$$v" in \
	  3.11|3.12|3.13) ;; \
	  *) if [ -n "$$v" ]; then found="Python $$v"; else found="not a working Python"; fi; \
	     echo "==> This course needs Python 3.11, 3.12 or 3.13; '$(RUN_PYTHON)' is $$found." >&2; \
	     echo "    Install one (e.g. apt-get install python3.11, or pyenv) and point make at it:" >&2; \
	     echo "    make $(or $(MAKECMDGOALS),book) PYTHON=python3.11" >&2; \
	     if [ -e $(PY) ]; then echo "    (remove $(VENV)/ first: it was made with that Python)" >&2; fi; \
	     exit 1;; \
	esac

# Compile nnlib's kernels into Numba's cache once, so a learner's first call is quick (~0.5 s
# instead of several seconds); redone whenever nnlib changes.
$(WARM): $(STAMP) $(wildcard nnlib/*.py)
	@echo "==> Compiling nnlib's kernels (float64 and float32) into Numba's cache (first time: about 25 s)"
	@# Numba stamps a cache entry with its own file only: a kernel that inlines code from another
	@# file would keep a stale entry after that file changed, so the cache is rebuilt whole.
	rm -f nnlib/__pycache__/*.nbi nnlib/__pycache__/*.nbc
	$(PY) -c "import nnlib; nnlib.warmup()"
	@touch $@

$(STAMP): requirements.txt pyproject.toml
	@echo "==> Setting up $(VENV) (first time: about 1 minute)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
	  || $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

vendor: $(VENDOR)

$(VENDOR): tools/js-packages.txt tools/vendor_js.py
	@command -v npm >/dev/null || { echo "==> Installing npm (Debian package) to fetch the website's JavaScript"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q npm; }
	$(PYTHON) tools/vendor_js.py

sandbox:
	@command -v bwrap >/dev/null || { echo "==> Installing bubblewrap (Debian package) for the grader's sandbox"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q bubblewrap; }

# Chromium for the browser tests and the PDF, and a CJK font (the course quotes its Chinese source;
# without one, Chromium draws those characters as empty boxes in screenshots and in the PDF).
browser:
	@test -x $(CHROMIUM) || { echo "==> Installing Chromium (Debian package) for the browser tests"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { echo "==> Installing fonts-noto-cjk (Debian package) for Chinese text"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q fonts-noto-cjk; }

# Builds when any source (a notebook, nnlib, the configuration, a catalogue) changed since the last
# successful build, executing every notebook (--all); otherwise says the site is up to date. `make
# clean book` forces a rebuild. Both editions: the English site, then the Chinese one from it.
book: python-check setup vendor gettext
	@$(MAKE) --no-print-directory site
	@echo "==> The course is built. Open file://$(CURDIR)/_build/html/index.html or run: make serve"
	@echo "    中文版 (Chinese edition): file://$(CURDIR)/_build/html/zh/index.html"
	@echo "    Offline copy of both: $(ZIP) ($$(du -h $(ZIP) | cut -f1); unzip it, then python3 -m http.server in its folder)"

# The same build, only when a source changed since the last successful one (for `make test`),
# and the zip of the site.
site: $(SITE_STAMP) $(ZH_STAMP) $(ZIP)

$(WHEEL_STAMP): $(STAMP) pyproject.toml tools/offline.py $(shell find nnlib nngrade -name '*.py' -o -name '*.json' -o -path 'nnlib/data/*' 2>/dev/null)
	$(PY) tools/offline.py wheel
	@touch $@

$(SITE_STAMP): $(STAMP) $(VENDOR) $(WHEEL_STAMP) $(BOOK_SRC)
	@rm -f $@
	$(BOOK_BUILD)
	@touch $@

# The Chinese edition: zh/ from the English notebooks and the catalogues, then Jupyter Book with
# execution off (the stored outputs, which nbval holds equal to a re-run). A page whose catalogue is
# unfinished shows its English there; `make test` fails on it (tools/i18n.py check --all-pages).
$(ZH_STAMP): $(SITE_STAMP) $(ZH_SRC)
	@rm -f $@
	$(PY) tools/i18n.py site
	@touch $@

$(ZIP): $(SITE_STAMP) $(ZH_STAMP)
	$(PY) tools/offline.py zip

# The PDF is printed from the built site (built first if a source changed) by the Chromium of the
# browser tests, again only when the site or tools/pdf.py changed.
pdf: python-check setup vendor browser
	@$(MAKE) --no-print-directory site
	@$(MAKE) --no-print-directory $(PDF)
	@echo "==> The course as one PDF: $(PDF) ($$(du -h $(PDF) | cut -f1))"

$(PDF): $(SITE_STAMP) tools/pdf.py
	$(PY) tools/pdf.py --out $@

# The website (both editions) and its PDF are (re)built first if a source changed. If that build
# fails, every other test still runs and the browser tests fail (NN_SITE_REQUIRED=1 and
# NN_ZH_SITE_REQUIRED=1: they fail, not skip, without a successful build, Chromium or axe-core), so
# `make test` fails either way. The Chinese catalogues must be complete and current for every page
# (check --all-pages); its failure is reported, the tests still run, and make test fails.
ZH_NOTEBOOKS := zh/chapters zh/exercises
test: python-check setup vendor browser sandbox gettext
	@$(MAKE) --no-print-directory site || echo "==> The website build FAILED (see above): the browser tests will fail"
	@test ! -f $(SITE_STAMP) || $(MAKE) --no-print-directory $(PDF) || echo "==> The PDF FAILED (see above): its test will fail"
	@status=0; \
	$(PY) tools/i18n.py check --all-pages || { status=1; echo "==> The Chinese catalogues are not complete and current (above): make test will fail"; }; \
	zh=""; for d in $(ZH_NOTEBOOKS); do if [ -d $$d ]; then zh="$$zh $$d"; else status=1; echo "==> No $$d (the Chinese build failed, see above): make test will fail"; fi; done; \
	echo "NN_SITE_REQUIRED=1 NN_ZH_SITE_REQUIRED=1 $(PY) -m pytest tests chapters$$zh --nbval --ignore=tests/submissions -rs"; \
	NN_SITE_REQUIRED=1 NN_ZH_SITE_REQUIRED=1 $(PY) -m pytest tests chapters$$zh --nbval --ignore=tests/submissions -rs || status=1; \
	exit $$status

serve:
	@test -f _build/html/index.html || { echo "No site yet: run 'make book' first"; exit 1; }
	@echo "==> Serving http://127.0.0.1:$(PORT)/ (中文版: http://127.0.0.1:$(PORT)/zh/) (Ctrl-C to stop)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

# EDITION, not LANG: LANG is the locale variable every shell already sets (LANG=en_US.UTF-8 would
# pick an edition by accident, and `make lab LANG=zh` would change the locale of everything make
# runs). EDITION=zh writes the Chinese notebooks into zh/ first (about 30 s: the sheets are run).
EDITION ?= en
lab: setup
ifeq ($(EDITION),zh)
	$(PY) tools/i18n.py notebooks
	$(VENV)/bin/jupyter lab --notebook-dir=$(CURDIR)/zh chapters/01_introduction.ipynb
else ifeq ($(EDITION),en)
	$(VENV)/bin/jupyter lab --notebook-dir=$(CURDIR) chapters/01_introduction.ipynb
else
	@echo "==> make lab EDITION=$(EDITION): expected EDITION=en (the default) or EDITION=zh" >&2; exit 1
endif

# GNU gettext (msgfmt, msgmerge, xgettext) for the translation catalogues.
gettext:
	@command -v msgfmt >/dev/null && command -v xgettext >/dev/null || { echo "==> Installing gettext (Debian package) for the translation catalogues"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q gettext; }

i18n-check: setup gettext
	$(PY) tools/i18n.py check --all-pages

bench: setup
	$(PY) -m bench.run

bench-explore: setup
	$(PY) -m bench.explore

bench-grading: setup
	$(PY) -m bench.grading --repeat 2

clean:
	rm -rf _build
