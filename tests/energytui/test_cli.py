"""The `energytui` command's dispatch to the development kit's gateway emulator."""

from __future__ import annotations

import subprocess
import sys

from energytui.cli import main


def test_emulator_runs_from_the_source_checkout_wherever_it_is_started(tmp_path):
    """devkit/ is not installed, not even editable; the command finds it beside the package."""
    r = subprocess.run(
        [sys.executable, "-m", "energytui.cli", "emulator", "--help"],
        cwd=tmp_path,  # not the checkout: nothing on sys.path points there
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: energytui emulator") and "Faults" in r.stdout


def test_without_the_devkit_the_emulator_is_one_sentence(monkeypatch, capsys):
    for name in ("devkit", "devkit.emulator", "devkit.emulator.__main__"):
        monkeypatch.setitem(sys.modules, name, None)  # as in an installed wheel
    assert main(["emulator", "--port", "8443"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "energytui: the gateway emulator ships with the source checkout (devkit/emulator), "
        "not with the installed package; run it from a clone of the repository.\n"
    )
