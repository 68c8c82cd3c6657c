"""A Static whose drawing is made for its own size, and made again when resized.

The flow diagram, the trend, the battery's day and today's bars all draw to the cells
they are given (a larger panel, a larger drawing), so each needs the same three steps:
keep what it was last shown, draw it for the content size, draw again on resize.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Static


class SizedStatic(Static):
    """Subclasses keep what ``show`` was given and implement :meth:`render_at`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._has_content = False
        self._last: object = None

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
            text = self.render_at(w, h)
            # most seconds a chart comes out the same as before: skip Textual's redraw,
            # which costs far more than making the drawing did. Compared with its styles:
            # Rich's and Textual's own equality look at the characters only, and a chart
            # that only greys (stale) must be drawn again.
            key = signature(text)
            if key != self._last:
                self._last = key
                self.update(Content.from_rich_text(text), layout=False)

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
