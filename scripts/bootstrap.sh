#!/usr/bin/env bash
# Install what energytui needs on a fresh Debian/Raspberry Pi OS machine, idempotently:
# Debian packages (tesseract-ocr, tmux, mosquitto, victoria-metrics, font faces) when
# missing, then a virtualenv in .venv with the project and its dev tools. Safe to run
# again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
# the InfluxDB writer's tests read their points back from a real VictoriaMetrics; they run
# /usr/bin/victoria-metrics themselves, so the package's own service is switched off below
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
# font faces the digit model trains on and the frame bench draws in
# (meter_agent/training/fonts.py; a face that is missing is only skipped)
fonts=/usr/share/fonts/truetype
[ -f $fonts/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -f $fonts/liberation/LiberationSans-Regular.ttf ] || need+=(fonts-liberation)
[ -f $fonts/freefont/FreeSans.ttf ] || need+=(fonts-freefont-ttf)
[ -f $fonts/dseg/DSEG7Classic-Regular.ttf ] || need+=(fonts-dseg)
[ -f $fonts/noto/NotoSansMono-Regular.ttf ] || need+=(fonts-noto-mono)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "bootstrap: installing Debian packages: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  if [[ " ${need[*]} " == *" victoria-metrics "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now victoria-metrics >/dev/null 2>&1 || true
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -U pip >/dev/null
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
  touch "$stamp"
fi
