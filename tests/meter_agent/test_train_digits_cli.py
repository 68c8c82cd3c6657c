"""train_digits' command line where it stops before training: the shipped model is only
trained as the same draw of the recipe as the held-out model whose report it carries, and
a machine without the train extra gets a sentence, not a traceback. (Training itself
needs torch, which the runtime and CI do not install.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from meter_agent.training import train_digits as T
from meter_agent.training.data import (
    default_data_dir,
    default_data_dirs,
    load_collection,
    meter_type,
    split_by_maker,
)

pytestmark = pytest.mark.skipif(
    not (default_data_dir() / "labels.csv").is_file(), reason="the labelled digits are missing"
)


def test_the_shipped_model_is_not_trained_as_another_draw_than_the_held_out_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = T.DigitModel.load(T.HELDOUT_PATH).info
    out = tmp_path / "digits.npz"
    rc = T.main(["--shipped-only", "--seed", str(held["seed"] + 1), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"--seed {held['seed']}" in err and "Traceback" not in err
    assert not out.exists()


def test_the_shipped_model_needs_a_held_out_model_to_take_its_report_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "held.npz"
    broken.write_bytes(b"not a model")
    out = tmp_path / "digits.npz"
    rc = T.main(["--shipped-only", "--heldout-out", str(broken), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "cannot be loaded" in err and "--shipped-only needs the held-out model" in err
    assert not out.exists()


def test_a_draw_is_told_by_its_seed_epochs_networks_and_balance(tmp_path: Path) -> None:
    held = tmp_path / "held.npz"
    src = np.load(T.HELDOUT_PATH)
    recipe = {"seed": 7, "epochs": 24, "members": 2, "type_balance": 1000}
    info = json.loads(str(src["info"])) | recipe
    np.savez(held, info=np.array(json.dumps(info)), **{k: src[k] for k in src.files if k != "info"})
    args = T.argparse.Namespace(heldout_out=held, **recipe)
    assert T.held_out_info(args) == info
    args.epochs = 14
    assert "--epochs 24" in str(T.held_out_info(args))
    args.epochs, args.type_balance = 24, 0
    assert "--type-balance 1000" in str(T.held_out_info(args))


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is not None, reason="torch is installed: it would train"
)
def test_without_the_train_extra_training_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = T.DigitModel.load(T.HELDOUT_PATH).info
    args = ["--shipped-only", "--seed", str(held["seed"]), "--epochs", str(held["epochs"])]
    rc = T.main([*args, "--members", str(held["members"]), "--out", str(tmp_path / "d.npz")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "pip install -e '.[train]'" in err and "Traceback" not in err


def test_another_draw_of_makers_needs_its_own_file_and_trains_no_shipped_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = T.HELDOUT_PATH.stat().st_mtime_ns
    for extra in ([], ["--shipped-only", "--heldout-out", "x.npz"], ["--split", "photo"]):
        assert T.main(["--makers-draw", "2", *extra]) == 2
        err = capsys.readouterr().err
        assert "--makers-draw trains a held-out model by maker only" in err
        assert "Traceback" not in err
    assert T.HELDOUT_PATH.stat().st_mtime_ns == before


def test_draw_0_is_the_published_split_and_other_draws_hold_out_whole_meter_types() -> None:
    samples = load_collection(default_data_dirs())
    assert split_by_maker(samples) == set(T.DigitModel.load(T.HELDOUT_PATH).info["held_out_files"])
    assert meter_type("ISKRA.T3F-01S1_20250630") == meter_type("ISKRA T3F-01S1") == "iskrat3f01s1"
    seen = set()
    for draw in range(1, 7):
        held = split_by_maker(samples, draw=draw)
        assert held != split_by_maker(samples)
        for kind in {s.kind for s in samples}:
            types = {(meter_type(s.maker), s.file in held) for s in samples if s.kind == kind}
            # a type stands on one side only (crops without a maker are split by file)
            assert not {t for t, out in types if out and t} & {t for t, out in types if not out}
            share = sum(s.file in held for s in samples if s.kind == kind)
            assert share <= 0.4 * sum(s.kind == kind for s in samples)
        seen |= {meter_type(s.maker) for s in samples if s.file in held}
    published = {meter_type(s.maker) for s in samples if s.file in split_by_maker(samples)}
    assert len(seen - published) >= 8  # the draws reach meters the published split trains on
