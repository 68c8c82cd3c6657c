"""What one training epoch sees of the real crops: every crop once, or each meter type
weighted by √(n · balance) so a few types with thousands of crops do not drown the rest."""

from __future__ import annotations

from collections import Counter

import numpy as np

from meter_agent.training.data import Sample
from meter_agent.training.train_digits import Pool, Real


def _reals(counts: dict[str, int]) -> list[Real]:
    out = []
    for maker, n in counts.items():
        for i in range(n):
            s = Sample(f"{maker}/{i}.jpg", "powermeter", "clean", maker, i % 10, 0, "")
            out.append(Real(np.zeros((8, 5), np.uint8), s.target(), s))
    return out


def _types(pool: Pool, order: list[int]) -> Counter[str]:
    return Counter(pool.reals[i].sample.maker for i in order)


def test_without_balance_an_epoch_sees_every_crop_once() -> None:
    pool = Pool(_reals({"big": 400, "small": 10}))
    order = pool.epoch_order(np.random.default_rng(0), 0)
    assert sorted(order) == list(range(410))


def test_balanced_a_big_type_is_sampled_and_a_small_one_repeated() -> None:
    # "ISKRA T3F-01S1" and "ISKRA.T3F-01S1_20250630" are one meter type
    pool = Pool(_reals({"ISKRA T3F-01S1": 300, "ISKRA.T3F-01S1_20250630": 100, "tiny": 4}))
    order = pool.epoch_order(np.random.default_rng(1), 100)
    seen = _types(pool, order)
    iskra = seen["ISKRA T3F-01S1"] + seen["ISKRA.T3F-01S1_20250630"]
    assert iskra == 200  # √(400 · 100), none twice
    assert len({i for i in order if pool.reals[i].sample.maker.startswith("ISKRA")}) == 200
    assert seen["tiny"] == 20  # √(4 · 100): each of its crops at least once, some again
    assert {i for i in order if pool.reals[i].sample.maker == "tiny"} == set(range(400, 404))


def test_a_balanced_epoch_is_drawn_anew_each_time() -> None:
    pool = Pool(_reals({"big": 400, "small": 10}))
    rng = np.random.default_rng(2)
    assert pool.epoch_order(rng, 100) != pool.epoch_order(rng, 100)
