#!/bin/sh
# Kiosk launcher: runs energytui full-screen inside tmux on the Pi's own display.
# Started by energytui-kiosk.service on tty1. Loops so the screen is never left empty.
set -u
export LANG="${LANG:-C.UTF-8}"
export LC_ALL="${LC_ALL:-C.UTF-8}"
CONF="${ENERGYTUI_TMUX_CONF:-/etc/energytui/tmux.conf}"
ENERGYTUI="${ENERGYTUI_BIN:-energytui}"
# On the Linux console (TERM=linux) use console mode: 16 colours and console-font glyphs.
MODE="--kiosk"
[ "${TERM:-linux}" = "linux" ] && MODE="--kiosk --console"
exec tmux -u -f "$CONF" new-session -A -s kiosk \
  "while true; do $ENERGYTUI $MODE ${ENERGYTUI_ARGS:-}; sleep 5; done"
