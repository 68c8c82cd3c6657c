"""The [tariff] section: strict like the rest of the config, each mistake one sentence
naming what to fix (unknown keys with the nearest known one, inside rates too)."""

from __future__ import annotations

import pytest

from energytui.config import ConfigError, load_config
from energytui.tariff import Tariff

GOOD = """
[tariff]
currency = "gbp"
import_price = 0.30
export_price = 0.08
daily_charge = 0.45

[[tariff.rates]]
name = "peak"
start = "16:00"
end = "19:30"
days = ["mon", "tue", "wed", "thu", "fri"]
months = [10, 11, 12, 1, 2, 3]
import_price = 0.42

[[tariff.rates]]
name = "night"
start = "00:30"
end = "04:30"
import_price = 0.09
"""


def refused(tmp_path, text: str) -> str:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(p, environ={})
    msg = str(exc.value)
    assert "\n" not in msg and msg.endswith("."), msg
    assert "Error" not in msg and "Traceback" not in msg
    return msg


def test_a_full_tariff_loads(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(GOOD, encoding="utf-8")
    cfg = load_config(p, environ={})
    assert cfg.tariff.currency == "GBP" and cfg.tariff.configured
    tariff = Tariff.from_config(cfg.tariff)
    assert tariff is not None and [r.name for r in tariff.rates] == ["peak", "night"]
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    assert Tariff.from_config(load_config(empty, environ={}).tariff) is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "[tariff]\nimport_prize = 0.3\n",
            "tariff.import_prize: is not a known setting (did you mean tariff.import_price?)",
        ),
        (
            "[tarif]\nimport_price = 0.3\n",
            "tarif: is not a known setting (did you mean tariff?)",
        ),
        (
            GOOD.replace('start = "00:30"', 'strat = "00:30"'),
            "tariff.rates[2].strat: is not a known setting (did you mean tariff.rates[2].start?)",
        ),
        (
            GOOD.replace('end = "19:30"', 'end = "7pm"'),
            "tariff.rates[1].end: must be a time of day written HH:MM",
        ),
        (
            GOOD.replace('"wed"', '"wendsday"'),
            "'wendsday' is not a day; use mon, tue, wed, thu, fri, sat, sun (did you mean 'wed'?)",
        ),
        (GOOD.replace("[10, 11, 12, 1, 2, 3]", "[13]"), "13 is not a month"),
        (GOOD.replace('currency = "gbp"', 'currency = "pounds"'), "three-letter currency code"),
        (GOOD.replace("import_price = 0.30", 'import_price = "0.30"'), "tariff.import_price"),
        (GOOD.replace("import_price = 0.30", "import_price = inf"), "tariff.import_price"),
        (
            GOOD.replace("import_price = 0.30\n", ""),
            "tariff: import_price must be set too: it is the price outside the rates' periods.",
        ),
        (
            GOOD.replace('end = "04:30"', 'end = "00:30"'),
            "start and end are both 00:30, so the rate never applies",
        ),
        (
            GOOD.replace("import_price = 0.09", 'name2 = "x"'),
            "tariff.rates[2].name2: is not a known setting",
        ),
    ],
)
def test_mistakes_are_one_sentence(tmp_path, text, needle):
    assert needle in refused(tmp_path, text)
