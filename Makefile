# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1
export FLASK_APP := wsgi:app

.PHONY: run test install translations migrate demo clean

# Re-install only when the requirement files change.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed translations

# Compiled catalogues (.mo) are build output, not source.
translations: $(BIN)/.installed
	$(BIN)/pybabel compile --use-fuzzy -q -d storefront/translations

migrate: install
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask catalog demo

run: demo
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
