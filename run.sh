#!/usr/bin/env bash
# diffkit's one entry point for people and CI.
#   bash run.sh          install what is missing, then serve the dashboard (panel serve apps/inpaint.py, port 5006)
#   bash run.sh demo     the command-line demo instead (figure in ./diffkit-demo/)
#   bash run.sh lab      JupyterLab on the notebooks (start with nbs/index.ipynb, then nbs/tutorials/)
#   bash run.sh test     install what is missing, then run every test (what CI runs)
#   bash run.sh install  only install
#   bash run.sh clean    nbdev_export + nbdev_clean + strip notebook widget state (run before committing)
#   bash run.sh train-defaults   make the demo data, fit the shipped baselines, train the two default models
#                        (~1.5 h on 2 cores; resumable) and install them with their model card
# The dashboard listens on 127.0.0.1 only; ADDRESS=0.0.0.0 bash run.sh opens it to the network (with a warning).
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

main_job() {
  install
  export PATH="$PWD/$BIN:$PATH"
  local address=${ADDRESS:-127.0.0.1} port=${PORT:-5006} origins=()
  if [ "$address" = 127.0.0.1 ] || [ "$address" = localhost ]; then
    origins=(--allow-websocket-origin="localhost:$port" --allow-websocket-origin="127.0.0.1:$port")
  else
    echo "run.sh: WARNING: serving on $address: anyone who can reach this machine can open sessions and run" >&2
    echo "        models on it; pass --allow-websocket-origin=HOST:$port for the names you serve under" >&2
    origins=(--allow-websocket-origin="$(hostname):$port" --allow-websocket-origin="localhost:$port")
  fi
  echo "run.sh: serving the dashboard: open http://localhost:$port/inpaint (Ctrl-C stops it)" >&2
  panel serve apps/inpaint.py --port "$port" --address "$address" "${origins[@]}" "$@"
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
}

case "${1:-main}" in
  test) shift; run_tests "$@" ;;
  install) install ;;
  clean) clean ;;
  train-defaults) train_defaults ;;
  demo) shift; demo "$@" ;;
  lab) shift; lab "$@" ;;
  main) [ $# -gt 0 ] && shift; main_job "$@" ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "run.sh: unknown command '$1' (use: main, demo, lab, test, install, clean, train-defaults)" >&2; exit 2 ;;
esac
