"""The help screen: keys, what the signs mean, where the data comes from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# energytui — help

## Keys
| key | does |
|---|---|
| `?` / `f1` | this help |
| `r` | poll every source now |
| `v` | devices: alerts, battery blocks, strings, reserve and mode |
| `m` | meter screen (there `s` sets the true reading by hand when the agent's checks are stuck) |
| `c` | meter calibration |
| `y` | history: power and battery charge over 6 h to 1 y (`1`–`5`, `[` `]`) |
| `o` | start/stop a grid outage (simulated site only) |
| `ctrl+p` | command palette |
| `q` | quit |

## Signs (as the Tesla gateway reports them)
- **Grid**: positive = *importing* from the grid, negative = *exporting* to it.
- **Battery**: positive = *discharging* into the home, negative = *charging*.
- **Solar** is always ≥ 0 (production), **Home** ≥ 0 (consumption).

Every screen also says the direction in words, so you never have to remember this.

## Stale data
When a source stops answering, its values turn grey and are marked **STALE** with the
age of the last good reading and the cause in one sentence. Zeros are never shown as live data.

## Today
Energy today comes from the gateway's lifetime counters when it has them (they survive
restarts of this program), otherwise from integrating the power readings.

Press `escape` or `q` to close.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)
