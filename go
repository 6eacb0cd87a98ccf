#!/usr/bin/env bash
# The project's two commands (and a few more), each setting itself up on first use:
#   ./go simulate  install into .venv, simulate a month of logins on SQLite, report, audit it
#   ./go test      install into .venv, then ruff, mypy and the whole pytest suite
#   ./go report    run the Gherkin specs; write reports/features.html and reports/cucumber.json
#   ./go bench     the audit and simulation benchmarks (minutes); ./go bench quick: seconds
#   ./go ARGS...   any other billing-station sub-command (./go --help lists them)
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    echo "setting up .venv (once) ..." >&2
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
    touch .venv/.installed
fi
case "${1:-}" in
    test)
        shift
        .venv/bin/ruff check domain application simulations benchmarks tests
        .venv/bin/mypy
        exec .venv/bin/pytest "$@" ;;
    report)
        mkdir -p reports
        status=0
        .venv/bin/pytest -q tests/test_features.py --cucumberjson=reports/cucumber.json || status=$?
        .venv/bin/python -m tests.living_docs reports/cucumber.json reports/features.html
        exit $status ;;
    bench)
        if [ "${2:-}" = quick ]; then  # small sizes: proves they run, figures are indicative
            .venv/bin/python -m benchmarks.audit --events 50000
            .venv/bin/python -m benchmarks.simulation large --customers 300 --days 3
        else
            .venv/bin/python -m benchmarks.audit
            .venv/bin/python -m benchmarks.simulation large
        fi ;;
    *)
        exec .venv/bin/billing-station "$@" ;;
esac
