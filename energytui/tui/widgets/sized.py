"""A Static whose drawing is made for its own size, and made again when resized.

The flow diagram, the trend, the battery's day and today's bars all draw to the cells
they are given (a larger panel, a larger drawing), so each needs the same three steps:
keep what it was last shown, draw it for the content size, draw again on resize.
"""

from __future__ import annotations

from rich.console import RenderableType
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
            content = self.render_at(w, h)
            # most seconds a chart comes out the same as before: skip Textual's redraw,
            # which costs far more than making the drawing did
            if content != self._last:
                self._last = content
                self.update(content, layout=False)

    def render_at(self, width: int, height: int) -> RenderableType:
        """The content for ``width`` × ``height`` cells."""
        raise NotImplementedError
