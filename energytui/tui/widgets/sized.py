"""Statics drawn once a second at little cost: only the lines that changed are drawn
again (:class:`LineStatic`), and drawings made for their own size (:class:`SizedStatic`).

Textual's ``Static.update`` turns the whole text into strips again and has every line
styled and composited again, though most seconds only a figure or an arrowhead moved:
on the dashboard that was most of what a second cost (``python -m bench.tui``).
:class:`LineStatic` keeps each line's strip and hands Textual only the lines whose
characters or styles changed (``refresh`` of those regions); Textual's own styles
cache then leaves the others as they were.

The flow diagram, the trend, the battery's day and today's bars all draw to the cells
they are given (a larger panel, a larger drawing), so each needs the same three steps:
keep what it was last shown, draw it for the content size, draw again on resize.
"""

from __future__ import annotations

from typing import Any

from rich.color import Color, ColorType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets import Static


class LineStatic(Static):
    """A Static shown with :meth:`show_text`: each new text redraws only its lines that
    differ from the text shown (``render()`` still returns the whole text)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lines: list[Text] | None = None  # None: what Static was given is shown
        self._text = Text()
        self._keys: list[tuple] = []
        self._whole: Content | None = None  # the whole text, made when asked for
        self._strips: dict[int, Strip] = {}
        #: whether the whole text was drawn at this size and style, so a changed line can
        #: be drawn alone (``_strips`` alone cannot tell: a one-line widget whose line
        #: changed has none left)
        self._whole_drawn = False
        #: strips by what their line shows: an arm of the flow diagram has the same few
        #: lines in many rows and again four seconds later
        self._by_key: dict[tuple, Strip] = {}
        self._strips_for: Size | None = None
        self._by_line = False  # whether a line can be drawn alone (see show_text)

    def show_text(self, text: Text) -> None:
        """Show ``text``; nothing is drawn again when no line changed."""
        lines = list(text.split("\n", allow_blank=True))
        keys = [signature(line) for line in lines]
        if self._lines is not None and keys == self._keys:
            return
        old, self._keys, self._lines, self._text = self._keys, keys, lines, text
        self._whole = None
        self._layout_cache.clear()  # render() changed: Textual caches its visual there
        width = self.size.width
        if len(old) != len(keys) or not self._whole_drawn or not self._line_by_line(width):
            self._forget()
            self.refresh()
            return
        changed = [y for y, (a, b) in enumerate(zip(old, keys, strict=True)) if a != b]
        for y in changed:
            self._strips.pop(y, None)
        self.refresh(*(Region(0, y, width, 1) for y in changed))

    def _line_by_line(self, width: int) -> bool:
        """Whether one line can be drawn alone: not when a line is wider than the widget
        (it wraps onto the next) or the text is centred or at the bottom (it moves
        whole); then every line is drawn again, as Static would."""
        self._by_line = self.styles.content_align[1] == "top" and all(
            line.cell_len <= width for line in self._lines or ()
        )
        return self._by_line

    def render(self):
        return self._whole_content() if self._lines is not None else super().render()

    def _whole_content(self) -> Content:
        if self._whole is None:
            self._whole = Content.from_rich_text(self._text)
        return self._whole

    def _forget(self) -> None:
        """Draw every line again, whole, at the next render."""
        self._strips.clear()
        self._whole_drawn = False

    def notify_style_update(self) -> None:
        # a new theme or class (stale grey) changes every line's base style
        self._forget()
        self._by_key.clear()
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        if self._lines is None or self.text_selection is not None:
            return super().render_line(y)
        size = self.size
        if size != self._strips_for:
            self._forget()
            self._by_key.clear()
            self._strips_for = size
        strip = self._strips.get(y)
        if strip is not None:
            return strip
        self._dirty_regions.clear()  # as Widget._render_content: all is drawn from here
        if not self._whole_drawn or not self._by_line:
            # everything at once, as Static would (the first draw, a resize, a new style)
            whole = self._whole_content()
            strips = Visual.to_strips(self, whole, size.width, size.height, self.visual_style)
            self._strips = dict(enumerate(strips))
            self._whole_drawn = True
            self._line_by_line(size.width)
        elif y < len(self._lines):
            self._strips[y] = self._line_strip(y)
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = Strip.blank(size.width, self.visual_style.rich_style)
        return strip

    def _line_strip(self, y: int) -> Strip:
        """Line ``y`` alone, as the whole text's strip for that row: the line's own
        segments over the widget's style, with the offsets text selection reads. Made
        from Rich's segments directly (Textual's Content path costs several times as
        much for these short lines), once per line shown, whatever its row."""
        key = self._keys[y]
        strip = self._by_key.get(key)
        if strip is None:
            assert self._lines is not None
            console = self.app.console
            segments = Segment.apply_style(
                self._lines[y].render(console, end=""), self.visual_style.rich_style
            )
            strip = Strip([Segment(text, _as_textual(style)) for text, style, _ in segments])
            if len(self._by_key) >= 4 * max(8, self.size.height):
                self._by_key.clear()  # a few seconds' worth is all that comes back
            self._by_key[key] = strip
        return strip.apply_offsets(0, y)


class SizedStatic(LineStatic):
    """Subclasses keep what ``show`` was given and implement :meth:`render_at`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._has_content = False

    def redraw(self) -> None:
        """Draw what the subclass keeps, now and on every later resize."""
        self._has_content = True
        self._draw()

    def on_resize(self) -> None:
        if self._has_content:
            self._draw()

    def _draw(self) -> None:
        w, h = self.content_size
        if w > 0 and h > 0:
            # most seconds a chart comes out the same as before, or moves in a few lines:
            # show_text compares each line with its styles (Rich's and Textual's own
            # equality look at the characters only, and a chart that only greys, stale,
            # must be drawn again)
            self.show_text(self.render_at(w, h))

    def render_at(self, width: int, height: int) -> Text:
        """The drawing for ``width`` × ``height`` cells."""
        raise NotImplementedError


_TEXTUAL_STYLE: dict[Style | None, Style | None] = {}


def _as_textual(style: Style | None) -> Style | None:
    """``style`` with its colours as Textual's Content gives them: the 256-colour
    palette's (grey70) as true colour, the 16 basic ones by number (the theme maps
    them), so a line drawn alone is the very strip the whole text gave that row."""
    out = _TEXTUAL_STYLE.get(style)
    if out is None:
        out = style
        if style is not None:
            colours: dict[str, Any] = {}
            for name in ("color", "bgcolor"):
                c = getattr(style, name)
                if c is not None and c.type is ColorType.EIGHT_BIT:
                    colours[name] = Color.from_triplet(c.get_truecolor())
                elif c is not None and c.type is ColorType.STANDARD and c.number is not None:
                    colours[name] = Color.from_ansi(c.number)  # "green" as "color(2)"
            if colours:
                out = style + Style(**colours)
        if len(_TEXTUAL_STYLE) > 4096:
            _TEXTUAL_STYLE.clear()
        _TEXTUAL_STYLE[style] = out
    return out


def signature(text: Text) -> tuple:
    """What a drawing shows: its characters and every style over them."""
    return (
        text.plain,
        str(text.style),
        tuple((span.start, span.end, str(span.style)) for span in text.spans),
    )
