#!/usr/bin/env bash
# diffkit's one entry point for people and CI.
#   bash run.sh          install what is missing, then serve the dashboard (panel serve apps/inpaint.py, port 5006)
#   bash run.sh demo     the command-line demo instead (figure in ./diffkit-demo/)
#   bash run.sh lab      JupyterLab on the notebooks (start with nbs/index.ipynb, then nbs/tutorials/)
#   bash run.sh test     install what is missing, then run every test (what CI runs)
#   bash run.sh install  only install
#   bash run.sh clean    nbdev_export + nbdev_clean + strip notebook widget state (run before committing)
#   bash run.sh train-defaults   make the demo data, fit the shipped baselines, train the two default models and the
#                        residual net of EOF-OI (~3.5 h on 2 cores; resumable) and install them with their model card
# The dashboard listens on 127.0.0.1 only; ADDRESS=0.0.0.0 bash run.sh opens it to the network (with a warning).
#   Shared machine: PASSWORD=... bash run.sh asks every browser for that password (any user name); AUTH_FILE=users.json
#   (a JSON object {"user": "password", ...}, read at start) asks for a user and its password. Logins are
#   signed with COOKIE_SECRET (default: a new random one per start, so a restart logs everyone out).
#   Limits (environment; see apps/README.md): DIFFKIT_MAX_UPLOAD_MB (32: upload size; the websocket's message limit
#   follows it), DIFFKIT_MAX_DECODED_MB (256: an upload's velocities once read), DIFFKIT_MAX_RUN_COST (10000: network
#   calls x ensemble members per run), DIFFKIT_GP_WORKERS (2: GP jobs at once), DIFFKIT_GP_THREADS (torch threads each).
# Installs into ./.venv (it sees the system's packages, so an existing torch, e.g. a CUDA build, is kept).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
VENV=.venv
BIN=$VENV/bin

install() {
  if [ ! -x "$BIN/python" ]; then
    echo "run.sh: creating $VENV" >&2
    "$PYTHON" -m venv --system-site-packages "$VENV"
  fi
  # torch: keep whatever build is importable; otherwise the CPU wheel (a bare 'torch' would pull GBs of CUDA)
  if ! "$BIN/python" -c "import torch" 2>/dev/null; then
    echo "run.sh: installing torch==2.13.0" >&2
    "$BIN/pip" install -q torch==2.13.0
  fi
  # the package and its dev tools: again only when settings.ini/setup.py changed since the last install
  local want have
  want=$(cat settings.ini setup.py | sha256sum | cut -c1-16)
  have=$(cat "$VENV/.diffkit-install" 2>/dev/null || true)
  if [ "$want" != "$have" ] || ! "$BIN/python" -c "import diffkit, nbdev" 2>/dev/null; then
    echo "run.sh: installing diffkit and its requirements (pip install -e '.[dev]')" >&2
    "$BIN/pip" install -q -e ".[dev]"
    echo "$want" > "$VENV/.diffkit-install"
  fi
}

# A checksum of the notebooks and the library, to see whether nbdev_clean/nbdev_export change anything.
tree_sum() { find nbs diffkit -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' \
               -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum; }

run_tests() {
  install
  browser
  export PATH="$PWD/$BIN:$PATH" MPLBACKEND=Agg PYTHONHASHSEED=0
  local start=$SECONDS before after
  echo "== 1/3 notebooks and library in sync (nbdev_clean, nbdev_export change nothing)"
  before=$(tree_sum)
  nbdev_clean >/dev/null
  nbdev_export
  after=$(tree_sum)
  if [ "$before" != "$after" ]; then
    echo "FAILED: nbdev_clean/nbdev_export changed these files; run them and commit the result:" >&2
    diff <(echo "$before") <(echo "$after") | grep '^[<>]' | awk '{print "  " $3}' | sort -u >&2
    exit 1
  fi
  echo "in sync"
  echo "== 2/3 nbdev_test (every notebook, default flags)"
  nbdev_test
  echo "== 3/3 pytest tests/"
  python -m pytest tests/ -q -p no:cacheprovider
  echo "test command took $((SECONDS - start)) s"
}

# The `panel serve` command of the dashboard, in SERVE (the arguments) and its environment (exported here).
serve_command() {
  local address=${ADDRESS:-127.0.0.1} port=${PORT:-5006} upload_mb=${DIFFKIT_MAX_UPLOAD_MB:-32} wsmax
  # an upload travels as base64 in one websocket message: 4/3 of the upload limit, plus 1 MiB for the rest
  wsmax=$(awk -v mb="$upload_mb" 'BEGIN { if (mb + 0 <= 0) exit 1; printf "%d", int(mb * 1e6 / 3 + 1) * 4 + 1048576 }') \
    || { echo "run.sh: DIFFKIT_MAX_UPLOAD_MB must be a positive number of MB, got '$upload_mb'" >&2; exit 2; }
  SERVE=(panel serve apps/inpaint.py --port "$port" --address "$address" --websocket-max-message-size "$wsmax")
  if [ "$address" = 127.0.0.1 ] || [ "$address" = localhost ]; then
    SERVE+=(--allow-websocket-origin="localhost:$port" --allow-websocket-origin="127.0.0.1:$port")
  else
    echo "run.sh: WARNING: serving on $address: anyone who can reach this machine can open sessions and run" >&2
    echo "        models on it (set PASSWORD or AUTH_FILE on a shared machine); pass --allow-websocket-origin=HOST:$port" >&2
    echo "        for other names you serve under" >&2
    SERVE+=(--allow-websocket-origin="$(hostname):$port" --allow-websocket-origin="localhost:$port")
    [ "$address" != 0.0.0.0 ] && SERVE+=(--allow-websocket-origin="$address:$port")
  fi
  # Basic auth: Panel reads its credentials file at each login, and takes the file's path as the password once the file
  # is gone; so run.sh copies PASSWORD (never on the command line: ps shows that) or AUTH_FILE into a private file of its
  # own under .venv, which lives exactly as long as the server.
  local auth=
  if [ -n "${PASSWORD:-}" ] && [ -n "${AUTH_FILE:-}" ]; then echo "run.sh: set PASSWORD or AUTH_FILE, not both" >&2; exit 2; fi
  if [ -n "${PASSWORD:-}${AUTH_FILE:-}" ]; then
    mkdir -p "$VENV"; auth="$PWD/$VENV/.diffkit-basic-auth.$$.json"; AUTH_TMP=$auth
    (umask 077; PASSWORD="${PASSWORD:-}" AUTH_FILE="${AUTH_FILE:-}" "$PYTHON" -c '
import json, os, sys
pw, path = os.environ["PASSWORD"], os.environ["AUTH_FILE"]
if path:
    try: d = json.load(open(path))
    except (OSError, ValueError) as e: sys.exit(f"run.sh: AUTH_FILE={path} could not be read as JSON: {e}")
    if not (isinstance(d, dict) and d and all(isinstance(k, str) and isinstance(v, str) and v for k, v in d.items())):
        sys.exit(f"run.sh: AUTH_FILE={path} must hold a JSON object of user names and non-empty passwords, e.g. {{\"ana\": \"...\"}}")
sys.stdout.write(json.dumps(d if path else pw))' > "$auth") || { rm -f "$auth"; exit 2; }
  fi
  if [ -n "$auth" ]; then
    SERVE+=(--basic-auth "$auth")
    export PANEL_COOKIE_SECRET=${COOKIE_SECRET:-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')}
  fi
}

main_job() {
  install
  export PATH="$PWD/$BIN:$PATH"
  AUTH_TMP=
  trap '[ -z "$AUTH_TMP" ] || rm -f "$AUTH_TMP"' EXIT   # the password file goes with the server
  trap 'exit 143' TERM; trap 'exit 130' INT
  serve_command
  echo "run.sh: serving the dashboard: open http://localhost:${PORT:-5006}/inpaint (Ctrl-C stops it)${PASSWORD:+; it asks for the password}${AUTH_FILE:+; it asks for a user and password}" >&2
  "${SERVE[@]}" "$@"
}

clean() {
  install
  export PATH="$PWD/$BIN:$PATH"
  nbdev_export
  nbdev_clean
  python tools/strip_widget_state.py nbs
}

lab() {
  install
  export PATH="$PWD/$BIN:$PATH"
  echo "run.sh: JupyterLab on nbs/: open the URL printed below, then index.ipynb and tutorials/ (Ctrl-C stops it)" >&2
  local extra=()
  [ "$(id -u)" = 0 ] && extra+=(--allow-root)     # containers often run as root
  jupyter lab --notebook-dir=nbs --port "${PORT:-8888}" --ip "${ADDRESS:-127.0.0.1}" --no-browser "${extra[@]}" "$@"
}

demo() {
  install
  export PATH="$PWD/$BIN:$PATH"
  diffkit demo "$@"
}

# The dashboard tests drive Debian's chromium (Playwright cannot download browsers here).
browser() {
  if [ ! -x "${DIFFKIT_CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "run.sh: installing chromium for the dashboard tests (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# Train the two default models on the demo data (both at once, one CPU thread each; resumable: run it again
# after a kill), then ship their best checkpoints into diffkit/assets/models with the model card.
train_defaults() {
  install
  export PATH="$PWD/$BIN:$PATH"
  [ -f data/demo/demo.nc ] || diffkit data demo --out data/demo
  [ -f diffkit/assets/baselines/baselines.json ] || diffkit baselines fit --data data/demo/demo.nc --out diffkit/assets/baselines
  mkdir -p runs
  local pids=()
  for r in uncond concat; do
    diffkit train --data data/demo/demo.nc --recipe cpu-$r --out runs/cpu-$r --threads 1 2> runs/cpu-$r.log &
    pids+=($!)
  done
  echo "training runs/cpu-uncond and runs/cpu-concat (progress: tail -f runs/cpu-*.log)"
  for p in "${pids[@]}"; do wait "$p"; done
  python -c "from diffkit.train import install_defaults; print(install_defaults('runs'))"
  echo "training runs/eof-net, the residual net of EOF-OI (progress: tail -f runs/eof-net.log)"
  diffkit residual --data data/demo/demo.nc --out runs/eof-net --jobs 2 --threads 2 2> runs/eof-net.log
  echo "warm restart of it: runs/eof-net-warm, on the same fills (progress: tail -f runs/eof-net-warm.log)"
  mkdir -p runs/eof-net-warm && ln -sfn ../eof-net/fills runs/eof-net-warm/fills
  diffkit residual --data data/demo/demo.nc --out runs/eof-net-warm --init runs/eof-net/model --steps 4000 --seed 1 --threads 2 \
    2> runs/eof-net-warm.log
  python -c "from diffkit.residual import install_residual; print(install_residual('runs/eof-net-warm/model'))"
}

case "${1:-main}" in
  test) shift; run_tests "$@" ;;
  install) install ;;
  clean) clean ;;
  train-defaults) train_defaults ;;
  demo) shift; demo "$@" ;;
  lab) shift; lab "$@" ;;
  main) [ $# -gt 0 ] && shift; main_job "$@" ;;
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "run.sh: unknown command '$1' (use: main, demo, lab, test, install, clean, train-defaults)" >&2; exit 2 ;;
esac
