"""A footer that fits its width: it drops the least important keys instead of cutting.

Textual's Footer lays the keys out in one row and scrolls the rest out of sight, so at
80 columns the last visible key was cut mid-word and the ones after it were gone without
a trace. :class:`KeyFooter` ranks the keys (:func:`footer_entries`), keeps the most
important ones that fit whole, and leaves ``?`` (help, which lists every key) first.

Ranking: a node's ``KEY_PRIORITY`` (action name to rank, lower first) when it names the
action; otherwise a screen's own keys rank 10 onwards in the order declared (its first
key, usually ``escape``, is its most important), and the app's global keys 60 onwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

from energytui.tui.glyphs import console_cells, console_words

#: Textual's own keys on every screen (focus moves, copy): not ours to explain
TEXTUAL_ACTIONS = frozenset({"app.focus_next", "app.focus_previous", "screen.copy_text"})

SCREEN_RANK = 10
APP_RANK = 60
GAP = 2  # columns between two entries


@dataclass(frozen=True)
class FooterEntry:
    """One key (or keys for one action) as the footer shows it."""

    keys: str  # "?", "esc", "1/2/3"
    description: str
    action: str
    rank: int
    enabled: bool = True
    global_key: bool = False  # one of the app's keys (every screen), not the screen's

    @property
    def text(self) -> str:
        return f"{self.keys} {self.description}" if self.description else self.keys

    @property
    def width(self) -> int:
        return len(self.text)


def _rank(node: DOMNode, binding: Binding, index: int, base: int) -> int:
    """The node's own rank for the action, else the app's (Back, Help, Quit rank the
    same on every screen), else the order declared."""
    action = binding.action.removeprefix("app.").removeprefix("screen.")
    for table in (getattr(node, "KEY_PRIORITY", None), getattr(node.app, "KEY_PRIORITY", None)):
        if table and action in table:
            return int(table[action])
    return base + index


def key_label(app, binding: Binding) -> str:
    """How the key is written: the app's display, in words on the Linux console."""
    label = app.get_key_display(binding)
    if getattr(app, "console_mode", False):
        # one key in a word ("⏎" is "enter"), a row of arrows as "<^v>"
        label = console_words(label) if len(label) == 1 else console_cells(label)
    return label


def footer_entries(screen: Screen, *, shown_only: bool = True) -> list[FooterEntry]:
    """The screen's active keys, one entry per action, most important first.

    ``shown_only``: only bindings with ``show`` (the footer); False gives every key
    (the help page)."""
    app = screen.app
    seen: dict[tuple[int, str], dict] = {}
    order: dict[int, int] = {}  # per node: the running index of its actions
    for active in screen.active_bindings.values():
        node, binding, enabled = active.node, active.binding, active.enabled
        if shown_only and not binding.show:
            continue
        if binding.system or binding.action in TEXTUAL_ACTIONS:
            continue
        group = binding.group if shown_only else None  # the help lists each key
        # a Binding.Group shows its keys as one entry ("+ - Threshold")
        key = (id(node), f"group:{id(group)}" if group is not None else binding.action)
        entry = seen.get(key)
        if entry is not None and not shown_only and binding.key_display:
            # "question_mark,f1" shown as "?" in the footer: the help names both keys
            binding = replace(binding, key_display=None)
        label = key_label(app, binding)
        if entry is None:
            index = order.get(id(node), 0)
            order[id(node)] = index + 1
            base = APP_RANK if node is app else SCREEN_RANK
            seen[key] = {
                "keys": [label],
                "description": group.description if group is not None else binding.description,
                "action": binding.action,
                "rank": _rank(node, binding, index, base),
                "enabled": enabled,
                "global": node is app,
                "shown": binding.show,
            }
        elif label not in entry["keys"]:
            # the key the footer shows comes first ("q/^q", not "^q/q")
            entry["keys"].insert(
                0 if binding.show and not entry["shown"] else len(entry["keys"]), label
            )
            entry["shown"] = entry["shown"] or binding.show
    console = getattr(app, "console_mode", False)
    entries = [
        FooterEntry(
            "/".join(e["keys"]),
            console_words(e["description"]) if console else e["description"],
            e["action"],
            e["rank"],
            e["enabled"],
            e["global"],
        )
        for e in seen.values()
    ]
    entries.sort(key=lambda e: e.rank)
    return entries


def fit(entries: list[FooterEntry], width: int) -> list[FooterEntry]:
    """The most important entries that fit whole in ``width`` columns, in rank order:
    the first that does not fit ends the row (a less important key never shows while a
    more important one is hidden)."""
    kept: list[FooterEntry] = []
    used = 0
    for entry in entries:
        need = entry.width + (GAP if kept else 1)  # a space before the first
        if used + need > width:
            break
        kept.append(entry)
        used += need
    return kept


class KeyFooter(Widget):
    """One line of keys for the screen it sits on; see the module docstring."""

    COMPONENT_CLASSES = {"keyfooter--key", "keyfooter--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        .keyfooter--key { color: $footer-key-foreground; text-style: bold; }
        .keyfooter--description { color: $footer-description-foreground; }
        &.-disabled { text-style: dim; }
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        self.refresh()

    def shown(self) -> list[FooterEntry]:
        """The entries drawn at the current width."""
        return fit(footer_entries(self.screen), self.size.width)

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keyfooter--key")
        desc_style = self.get_component_rich_style("keyfooter--description")
        text = Text(no_wrap=True, overflow="crop", end="")
        for i, entry in enumerate(self.shown()):
            text.append(" " * (GAP if i else 1))
            style = key_style if entry.enabled else key_style + Style(dim=True)
            text.append(entry.keys, style=style)
            if entry.description:
                text.append(f" {entry.description}", style=desc_style)
        return text
