"""Clip the landscape's moving layer to the plotting frame, in the browser.

BokehJS paints a figure on two canvas layers: the primary one (the image, the contours,
the axes, every renderer of the levels ``image`` to ``annotation``) and the overlay one
(the renderers of level ``overlay``, and the tools' boxes). A change to a renderer of one
level repaints its layer only, so the explorer draws what moves with a run on the overlay
layer (:data:`gdlab.explorer._landscape_view.MOVING`): a new path then costs the browser
the paths' layer, not the landscape's 14,400-cell image and its contour lines.

BokehJS clips the primary layer's glyphs to the frame (the plotting area inside the axes)
but not the overlay layer's, which is meant for annotations: a path that leaves the box
(a diverging run, a pan) would be drawn over the axes. :class:`ClipOverlays` is a
zero-size element whose script, when the page renders it, makes every glyph renderer of
level ``overlay`` ask for that clip (``needs_clip``, which BokehJS already applies to
annotations; glyph renderers of the other levels are clipped by their layer anyway, so
nothing else changes). It acts on the page's BokehJS only; nothing is sent back.
"""

from __future__ import annotations

import panel as pn

CLIP_OVERLAYS_JS = """
const renderer = window.Bokeh && window.Bokeh.Models && window.Bokeh.Models.GlyphRenderer;
const view = renderer && renderer.prototype.default_view;
if (view && !view.prototype.__gdlab_clips_overlays) {
  Object.defineProperty(view.prototype, "needs_clip", {
    configurable: true,
    get() { return this.model.level == "overlay"; },
  });
  view.prototype.__gdlab_clips_overlays = true;
}
"""
"""The script: glyph renderers of level ``overlay`` are clipped to the frame."""


class ClipOverlays(pn.custom.JSComponent):
    """A zero-size element that runs :data:`CLIP_OVERLAYS_JS` when the page renders it."""

    _esm = ("export function render() {\n" + CLIP_OVERLAYS_JS
            + "\n  return document.createElement('span');\n}\n")

    def __init__(self, **params):
        super().__init__(width=0, height=0, margin=0, **params)
