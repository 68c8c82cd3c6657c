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
        #: strips by what their line shows: an arm of the flow diagram has the same few
        #: lines in many rows and again four seconds later
        self._by_key: dict[tuple, Strip] = {}
        self._strips_for: Size | None = None
        self._by_line = False  # whether a line can be drawn alone (see show_text)

    def show_text(self, text: Text) -> None:
        """Show ``text``; nothing is drawn again when no line changed."""
        lines = text.split("\n", allow_blank=True)
        keys = [signature(line) for line in lines]
        if self._lines is not None and keys == self._keys:
            return
        old, self._keys, self._lines, self._text = self._keys, keys, lines, text
        self._whole = None
        self._layout_cache.clear()  # render() changed: Textual caches its visual there
        width = self.size.width
        if len(old) != len(keys) or not self._strips or not self._line_by_line(width):
            self._strips.clear()
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

    def notify_style_update(self) -> None:
        # a new theme or class (stale grey) changes every line's base style
        self._strips.clear()
        self._by_key.clear()
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        if self._lines is None or self.text_selection is not None:
            return super().render_line(y)
        size = self.size
        if size != self._strips_for:
            self._strips.clear()
            self._by_key.clear()
            self._strips_for = size
        strip = self._strips.get(y)
        if strip is not None:
            return strip
        self._dirty_regions.clear()  # as Widget._render_content: all is drawn from here
        style = self.visual_style
        if not self._strips or not self._by_line:
            # everything at once, as Static would (the first draw, a resize, a new style)
            whole = Visual.to_strips(self, self._whole_content(), size.width, size.height, style)
            self._strips = dict(enumerate(whole))
            self._line_by_line(size.width)
        elif y < len(self._lines):
            key = self._keys[y]
            strip = self._by_key.get(key)
            if strip is None:
                line = Content.from_rich_text(self._lines[y])
                strip = Visual.to_strips(self, line, size.width, 1, style)[0]
                if len(self._by_key) >= 4 * max(8, size.height):
                    self._by_key.clear()  # a few seconds' worth is all that comes back
                self._by_key[key] = strip
            self._strips[y] = strip
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = Strip.blank(size.width, style.rich_style)
        return strip


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


def signature(text: Text) -> tuple:
    """What a drawing shows: its characters and every style over them."""
    return (
        text.plain,
        str(text.style),
        tuple((span.start, span.end, str(span.style)) for span in text.spans),
    )
