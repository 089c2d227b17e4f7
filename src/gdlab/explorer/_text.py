"""The page's texts that change with every run (the status, the internals, the theory),
each shown in the Bokeh model of Panel's HTML pane, whose HTML the explorer writes itself.

Why not Panel's ``Markdown`` and ``Str`` panes: each new text costs them a Markdown
parse and a rebuild of the pane's style sheets (new Bokeh models, sent to the browser),
about 10 ms of the server's time per pane and per update on the shared two-core machine,
measured with a rendered page (``benchmarks/explorer.py``'s in-process share). The model
alone costs one property change, its ``text``. Why not Bokeh's own ``Div``: a new text
makes BokehJS lay the whole page out again (~80 ms per text in headless Chromium, measured
with the page's performance timeline), where Panel's model only replaces its inner HTML.
"""

from __future__ import annotations

from html import escape

from bokeh.models import InlineStyleSheet
from panel.models.markup import HTML

STYLE = """
:host { font-size: 13px; }
table { border-collapse: collapse; margin: 4px 0; }
th, td { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
ul { padding-left: 20px; margin: 4px 0; }
pre { margin: 4px 0; }
"""
"""The texts' CSS (inside the Div's shadow root)."""


class TextView:
    """A text of the page: ``object`` is its plain or Markdown form (what a notebook or a
    test reads), ``model`` the Bokeh model that shows its HTML form."""

    def __init__(self, name: str, **layout):
        self.model = HTML(text="", css_classes=[f"gdlab-{name}"], disable_math=True,
                          run_scripts=False, stylesheets=[InlineStyleSheet(css=STYLE)],
                          **layout)
        self.object = ""
        self.visible = True  # False in a hidden tab: the model waits until it is shown
        self._pending = None

    def show(self, text: str, html: str | None = None) -> None:
        """Show ``text`` (as ``html`` if given, else as preformatted text); no change is
        sent when the text is the one shown, nor while the view is hidden (it is sent
        when :meth:`set_visible` shows it)."""
        if text == self.object:
            return
        self.object = text
        html = html if html is not None else f"<pre>{escape(text)}</pre>"
        self._pending = escape(html)  # the model's text is escaped HTML (Panel's rule)
        if self.visible:
            self._send()

    def set_visible(self, visible: bool) -> None:
        """Whether the view is on the page now (its tab is the active one)."""
        self.visible = visible
        if visible:
            self._send()

    def _send(self):
        if self._pending is not None:
            self.model.text, self._pending = self._pending, None
