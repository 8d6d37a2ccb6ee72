# Two entry points for a fresh machine (see README): `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
LAW_SOURCE ?= $(SHARED)/corpus/moj/env-20241011.json
QUESTION ?= 我們工廠的排放許可證明年三月底到期，最晚什麼時候要送件申請延長？

.PHONY: setup run serve test eval browser clean

$(BIN)/wpa: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/wpa

setup: $(BIN)/wpa

# The main job on the embedded defaults: build (or refresh) the index, answer a question.
run: setup
	$(BIN)/wpa ingest --source $(LAW_SOURCE)
	$(BIN)/wpa ask "$(QUESTION)"

serve: setup
	$(BIN)/wpa serve

eval: setup
	$(BIN)/wpa eval --questions $(SHARED)/evals/questions.jsonl --json artifacts/eval.json

# Debian's chromium (and CJK fonts for readable screenshots) for the console's real-browser test;
# Playwright drives it, no browser download.
browser:
	@(command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk") || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)

test: setup browser
	mkdir -p artifacts
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) artifacts .pytest_cache
