# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing first.
.PHONY: run test lint screenshots bench setup

setup:
	@bash scripts/bootstrap.sh

run: setup
	.venv/bin/energytui $(ARGS)

test: setup
	.venv/bin/ruff check energytui meter_agent devkit tests bench
	.venv/bin/mypy
	.venv/bin/python -m pytest -q

lint: setup
	.venv/bin/ruff check energytui meter_agent devkit tests bench
	.venv/bin/ruff format --check energytui meter_agent devkit tests bench
	.venv/bin/mypy

screenshots: setup
	.venv/bin/python -m devkit.screenshots screenshots

bench: setup
	.venv/bin/python -m bench.store
	.venv/bin/python -m bench.tui
	.venv/bin/python -m bench.agent
