# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1
export FLASK_APP := wsgi:app

.PHONY: run test install translations messages migrate demo clean bench

# Re-install only when the requirement files change.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed translations

# Compiled catalogues (.mo) are build output, not source.
translations: $(BIN)/.installed
	$(BIN)/pybabel compile -d storefront/translations

migrate: install
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask catalog demo

# The outbox worker (village webhooks, queued e-mails, expiring unpaid orders) runs beside the web server.
run: demo
	$(BIN)/flask outbox work & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# Two processes (one per core), each with its own databases, sharing the tests out as they go;
# the slowest tests are listed at the end so that the next slowdown is seen.
PYTEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist load --durations=15 $(PYTEST_ARGS)

# Benchmarks against the ceiling, demo and national scale on PostgreSQL (see bench/README.md).
bench: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y wrk; } || { echo "bench needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache

# After changing translatable text: refresh the catalogue, translate the new entries, commit the .po.
messages: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -w 100 -o storefront/translations/messages.pot .
	$(BIN)/pybabel update -N -w 100 -i storefront/translations/messages.pot -d storefront/translations
