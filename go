#!/usr/bin/env bash
# The project's two commands (and a few more), each setting itself up on first use:
#   ./go simulate  install into .venv, simulate a month of logins on SQLite, report, audit it
#   ./go test      install into .venv, then ruff, mypy, the whole pytest suite, and the specs
#                  once more through the browser (pytest tests/test_features.py --driver=browser);
#                  ARGS after it go to pytest instead (e.g. ./go test tests/test_login.py -q).
#                  First, as root, apt-get installs what is missing of PostgreSQL, Chromium and
#                  a CJK font (./go system-packages)
#   ./go report    run the Gherkin specs, through the browser and the services; write
#                  features.html, cucumber.json and the screenshots in this checkout's
#                  reports/ (wherever ./go is called from), or in FOLDER with --out FOLDER
#                  (relative to where ./go is called from). First, as root, apt-get installs
#                  what is missing of PostgreSQL, Chromium and a CJK font (./go
#                  system-packages)
#   ./go bench     the audit, simulation and portal benchmarks (minutes); ./go bench quick: ~1 min
#   ./go screenshots   make README's pictures in docs/screenshots/ anew (tests leave them be)
#   ./go system-packages   Debian's packages the tests need (PostgreSQL, Chromium, a CJK font)
#   ./go ARGS...   any other billing-station sub-command (./go --help lists them after
#                  these), run where ./go was called from: its relative paths are the
#                  caller's
set -euo pipefail
caller="$PWD"  # the sub-commands' relative paths (a store, --out, --html) are the caller's
cd "$(dirname "$0")"
own_help() {  # the lines above: all of them, or those of one command ($1)
    sed -n '2,/^set /p' go | sed '$d' | sed 's/^# \{0,1\}//' \
        | awk -v cmd="${1:-}" 'cmd == "" { print; next } /^  \.\/go / { on = ($2 == cmd) } on'
}
out=""  # ./go report --out FOLDER: where the report goes, made absolute
case "${1:-}" in  # ./go's own commands: --help says what they do, before anything is done
    test|report|bench|screenshots|system-packages)
        if [ "${2:-}" = --help ] || [ "${2:-}" = -h ]; then
            own_help "$1"
            exit 0
        fi
        extra="${2:-}"
        [ "$1" = bench ] && [ "$extra" = quick ] && extra="${3:-}"
        if [ "$1" = report ]; then  # [--out FOLDER], once, and nothing else
            args=("${@:2}") extra="" given="" seen=""
            for ((i = 0; i < ${#args[@]}; i++)); do
                case "${args[i]}" in
                    --out|--out=*)
                        if [ -n "$seen" ]; then
                            echo "./go report: --out given twice" >&2
                            exit 2
                        fi
                        seen=1
                        if [ "${args[i]}" = --out ]; then
                            given="${args[i + 1]:-}" i=$((i + 1))
                        else
                            given="${args[i]#--out=}"
                        fi
                        case "$given" in
                            ""|-*) echo "./go report: --out needs a folder (./go report --out" \
                                        "FOLDER)" >&2
                                exit 2 ;;  # (--out --help: a folder named --help, minutes of work)
                            "~"|"~/"*)  # (--out=~/x: no shell expands it)
                                if [ -z "${HOME:-}" ]; then
                                    echo "./go report: --out $given: HOME is not set" >&2
                                    exit 2
                                fi
                                out="$HOME${given#"~"}" ;;
                            /*) out="$given" ;;
                            *) out="$caller/$given" ;;
                        esac
                        if [ -e "$out" ] && [ ! -d "$out" ]; then
                            echo "./go report: --out $given is not a folder" >&2
                            exit 2
                        fi ;;
                    *) extra="${args[i]:-\"\"}"  # (an empty one too)
                       break ;;
                esac
            done
        fi
        if [ "$1" != test ] && [ -n "$extra" ]; then
            echo "./go $1: unexpected '$extra' (./go $1 --help says what it takes)" >&2
            exit 2
        fi
        if [ -n "$out" ] && ! mkdir -p -- "$out" 2>/dev/null; then
            echo "./go report: --out $given: the folder cannot be made there" >&2
            exit 2
        fi ;;
esac
DEBIAN_PACKAGES=(postgresql chromium fonts-noto-cjk)
if [ "${1:-}" = system-packages ]; then  # as root (CI is): apt-get, only what is missing
    missing=()
    for package in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} (apt-get) ..." >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    exit 0
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    echo "setting up .venv (once) ..." >&2
    python3 -m venv .venv
    # (-qq: a machine's pip settings may warn of each index it cannot use, a line a package)
    .venv/bin/pip install -qq --disable-pip-version-check -e '.[test,load]'
    touch .venv/.installed
fi
case "${1:-}" in
    test)
        shift
        ./go system-packages  # (./go has moved to its own folder: "$0" may be relative)
        .venv/bin/ruff check domain application simulations portal billing_station benchmarks tests
        .venv/bin/mypy
        status=0
        .venv/bin/pytest "$@" || status=$?
        if [ $# -eq 0 ]; then  # the whole suite: then the specs again, through the browser
            .venv/bin/pytest -q -rs -p no:cacheprovider tests/test_features.py --driver=browser \
                || status=$?
        fi
        exit $status ;;
    report)
        ./go system-packages  # (the browser and the font for Japanese its screenshots need)
        out="${out:-$PWD/reports}"
        mkdir -p "$out"
        status=0
        # The specs through the browser first: each step's screenshot, beside its scenario in
        # the page; then every scenario's result and evidence through the services.
        rm -f "$out/browser-run.xml"
        export BS_SCREENSHOTS="$out/screenshots"  # (the browser's, beside the page it is in)
        echo "1/3 the specs through the browser, each step's screen photographed (minutes)"
        .venv/bin/pytest -q -p no:cacheprovider tests/test_features.py --driver=browser \
            --junitxml="$out/browser-run.xml" || status=$?
        echo "2/3 every scenario through the services, with its evidence"
        .venv/bin/python -m pytest -q -p tests.living_docs tests/test_features.py \
            tests/test_portal_features.py --cucumberjson="$out/cucumber.json" || status=$?
        echo "3/3 the page"
        .venv/bin/python -m tests.living_docs "$out/cucumber.json" "$out/features.html" \
            "$out/browser-run.xml"
        exit $status ;;
    screenshots)  # README's pictures, made anew by the tests that show those pages
        BS_DOCS_SCREENSHOTS=1 exec .venv/bin/pytest -q -p no:cacheprovider tests/test_portal.py \
            tests/test_audit_pages.py tests/test_reports.py tests/test_simulation_reports.py \
            tests/test_simulated_stuffing.py ;;
    bench)
        if [ "${2:-}" = quick ]; then  # small sizes: proves they run, figures are indicative
            .venv/bin/python -m benchmarks.audit --events 50000
            .venv/bin/python -m benchmarks.simulation large --customers 300 --days 3
            .venv/bin/python -m benchmarks.portal --quick  # PostgreSQL where POSTGRES_* say
        else
            .venv/bin/python -m benchmarks.audit
            .venv/bin/python -m benchmarks.simulation large
            .venv/bin/python -m benchmarks.portal
        fi ;;
    *)
        venv="$PWD/.venv"
        if [ $# -eq 0 ] || [ "$1" = --help ] || [ "$1" = -h ]; then  # ./go's own, then the rest
            own_help
            echo
            exec "$venv/bin/python" -P -m billing_station.console --help
        fi  # (-P: nothing of the caller's folder is imported; run as a module, the console
        #    script names itself ./go in its usage and hints)
        cd "$caller" && exec "$venv/bin/python" -P -m billing_station.console "$@" ;;
esac
