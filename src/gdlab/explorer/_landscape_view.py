"""The landscape view: one Bokeh figure whose sources are updated in place.

Three modes share the figure's renderers (a problem change never re-creates it):

- two parameters: the loss grid as an image (log colours where its range is wide, the
  rule of :func:`gdlab.plots.contours.log_floor`) with contour lines at
  :func:`gdlab.plots.contours.landscape_levels`, the paths, the start, the minima, and
  at the current step the arrows of :math:`-\\nabla L` and of the momentum buffer;
- one parameter: the loss curve :math:`L(w)`, each run's points on it and, at the
  current step, the tangent line and the step (the article's first figure, live);
- more: the plane through the paths (:func:`gdlab.landscape.path_plane`), its grid and
  the paths projected on it.

A tap sets the start, and so does dragging the start point (Bokeh's point-draw tool):
the data coordinates in the first two modes, the plane's point :math:`o + a u + b v` in
the third.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from bokeh.models import (
    Arrow,
    ColumnDataSource,
    LinearColorMapper,
    NormalHead,
    PointDrawTool,
    Range1d,
)
from bokeh.plotting import figure
from matplotlib.colors import to_hex

from gdlab import landscape
from gdlab.explorer._compute import curve_for, grid_for, start_of
from gdlab.plots.contours import landscape_levels, log_floor
from gdlab.plots.paths import run_colors

SHADES = [to_hex(matplotlib.colormaps["Greys"](v)) for v in np.linspace(0.02, 0.45, 256)]
"""The landscape's colours: light greys, low to high loss (the static contour figures'
shading, :func:`gdlab.plots.contours.plot_contours`), so every path colour stays legible."""
COLORS = [to_hex(color) for color in run_colors(4)]
"""The runs' colours: the palette of gdlab's path figures and animations."""
ARROW_SHARE = 0.12
"""The longest arrow's length as a share of the box's diagonal."""
PLANE_RESOLUTION = 50
MOVING = "overlay"
"""The Bokeh level of everything that moves with a run (paths, markers, the start, the
arrows, the minima): BokehJS paints that level on a canvas
layer of its own, so a new path repaints that layer only, and the landscape's image,
contours and axes (the primary layer) are painted again only when the box changes
(see :data:`gdlab.explorer._clip.CLIP_OVERLAYS_JS` for the frame's clip)."""
DOT_SIZE = 5
"""The iterates' dots' diameter in pixels."""
MAX_MARKERS = 100
"""Iterate markers drawn per path: every k-th iterate, k = ceil(T / 100), and the last (the
line goes through every iterate). Past ~100 the dots overlap into a thick line, and each
costs the browser's paint."""


def _empty(*keys) -> dict:
    return {key: [] for key in keys}


def _same(old, new) -> bool:
    """Whether a source's data ``old`` already holds the small lists ``new``."""
    return old.keys() == new.keys() and all(
        len(old[key]) == len(new[key]) and list(old[key]) == list(new[key]) for key in new)


def _set(source, data) -> None:
    """Set a source's small data only when it changed (a change is a message to the
    browser and a repaint there)."""
    if not _same(source.data, data):
        source.data = data


def dot_rows(points: np.ndarray) -> np.ndarray:
    """``points`` ``(n, 2)`` as the rows of a line that draws a dot at each: the point
    twice (a piece of zero length, which a round cap draws as a disc of the line's
    width), then a row of NaN (a break), ``(3 n, 2)``."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    rows = np.full((len(points), 3, 2), np.nan)
    rows[:, 0] = rows[:, 1] = points
    return rows.reshape(-1, 2)


def marker_rows(n: int, most: int = MAX_MARKERS) -> np.ndarray:
    """The rows of an ``n``-point path that get a marker: every ``ceil(n / most)``-th
    from the first, and the last."""
    if n <= 0:
        return np.zeros(0, dtype=int)
    every = max(1, -(-n // most))
    rows = np.arange(0, n, every)
    return rows if rows[-1] == n - 1 else np.append(rows, n - 1)


class LandscapeView:
    """The figure and its sources; :meth:`update` redraws for new runs."""

    def __init__(self):
        self.figure = figure(name="gdlab-landscape", css_classes=["gdlab-landscape"],
                             width=680, height=480, tools="pan,wheel_zoom,box_zoom,reset",
                             title="landscape: click to set the start",
                             x_range=Range1d(0, 1), y_range=Range1d(0, 1))
        self.figure.toolbar.logo = None
        self.mapper = LinearColorMapper(palette=SHADES)
        self.image = ColumnDataSource(_empty("image", "x", "y", "dw", "dh"))
        self.figure.image(image="image", x="x", y="y", dw="dw", dh="dh",
                          source=self.image, color_mapper=self.mapper, level="image")
        self.contours = ColumnDataSource(_empty("xs", "ys"))
        self.figure.multi_line("xs", "ys", source=self.contours, color="#6b6b6b",
                               alpha=0.5, line_width=1)
        self.curve = ColumnDataSource(_empty("x", "y"))
        self.figure.line("x", "y", source=self.curve, color="black", line_width=2)
        self.paths, self.markers = [], []
        for k, color in enumerate(COLORS, start=1):
            path = ColumnDataSource(_empty("x", "y"))
            self.figure.line("x", "y", source=path, color=color, line_width=2,
                             legend_label=f"optimizer {k}", level=MOVING)
            markers = ColumnDataSource(_empty("x", "y"))
            # the iterates' dots: zero-length pieces of one line with round caps (dot_rows),
            # one stroke for all of them where a scatter fills each marker on its own
            self.figure.line("x", "y", source=markers, color=color, line_width=DOT_SIZE,
                             line_cap="round", level=MOVING)
            self.paths.append(path)
            self.markers.append(markers)
        self.path_items = list(self.figure.legend.items)
        self.current = ColumnDataSource(_empty("x", "y", "color"))
        self.figure.scatter("x", "y", source=self.current, color="color", size=11,
                            line_color="black", level=MOVING)
        self.tangents = ColumnDataSource(_empty("xs", "ys", "color"))
        self.figure.multi_line("xs", "ys", source=self.tangents, color="color",
                               line_dash="dashed", line_width=2, level=MOVING)
        self.start = ColumnDataSource(_empty("x", "y"), name="gdlab-start")
        start = self.figure.scatter("x", "y", source=self.start, marker="circle", size=14,
                                    color="#E69F00", line_color="black", legend_label="start",
                                    level=MOVING)
        # drag the start point (a click anywhere sets it too); the pan tool stays a click away
        drag = PointDrawTool(renderers=[start], add=False, drag=True, num_objects=1,
                             description="drag the start point")
        self.figure.add_tools(drag)
        self.figure.toolbar.active_drag = drag
        self.on_drag = None  # the page's handler: on_drag(x, y) in data coordinates
        self._placing = False
        self.start.on_change("data", self._dragged)
        self.minima = ColumnDataSource(_empty("x", "y"))
        self.figure.scatter("x", "y", source=self.minima, marker="star", size=16,
                            color="#D55E00", line_color="black", legend_label="minimum",
                            level=MOVING)
        # the legend beside the frame, not over it: the paths' layer would paint over it
        legend = self.figure.legend[0]
        self.figure.center.remove(legend)
        legend.update(location="top_left", border_line_alpha=0, margin=4, padding=4,
                      spacing=2)
        self.figure.add_layout(legend, "right")
        self.gradient_arrows = ColumnDataSource(_empty("x0", "y0", "x1", "y1"))
        self.momentum_arrows = ColumnDataSource(_empty("x0", "y0", "x1", "y1"))
        for source, color in ((self.gradient_arrows, "#D55E00"),
                              (self.momentum_arrows, "#222222")):
            self.figure.add_layout(Arrow(
                end=NormalHead(size=9, fill_color=color, line_color=color),
                x_start="x0", y_start="y0", x_end="x1", y_end="y1", source=source,
                line_color=color, line_width=2, level=MOVING))
        self.mode = None
        self._drawn, self._drawn_mode = {}, None  # the run each path source shows
        self.plane = None
        self.problem = None
        self.bounds = None

    # -- what a tap means ------------------------------------------------------------
    def point_at(self, x: float, y: float) -> tuple | None:
        """The start a tap at data coordinates ``(x, y)`` asks for (``None``: outside)."""
        if self.mode == "2d":
            return (float(x), float(y))
        if self.mode == "1d":
            return (float(x),)
        if self.mode == "plane" and self.plane is not None:
            return tuple(float(v) for v in self.plane.points(x, y))
        return None

    def _place(self, data):
        """Show the start (a change the page makes, not a drag)."""
        if _same(self.start.data, data):
            return
        self._placing = True
        try:
            self.start.data = data
        finally:
            self._placing = False

    def _dragged(self, attr, old, new):
        if self._placing or self.on_drag is None or not len(new.get("x", ())):
            return
        self.on_drag(float(new["x"][0]), float(new["y"][0]))

    # -- drawing ----------------------------------------------------------------------
    def update(self, problem, state, runs, step: int, *, new_structure: bool):
        """Redraw for ``runs`` with the current step ``step`` (an index into the paths)."""
        d = problem.num_params
        self.problem = problem
        self.mode = "2d" if d == 2 else "1d" if d == 1 else "plane"
        self._runs = runs
        paths = [r.path if r.trajectory is not None else None for r in runs]
        present = [p for p in paths if p is not None]
        start = start_of(problem, state)
        if self.mode == "2d":
            self._draw_2d(problem, present, start, new_structure)
            drawn = paths
        elif self.mode == "1d":
            drawn = self._draw_1d(problem, present, start, paths)
        else:
            drawn = self._draw_plane(problem, present, start, paths)
        by_slot = {r.k: (r, p) for r, p in zip(runs, drawn, strict=True)}
        for k, item in enumerate(self.path_items, start=1):  # entries name the optimizer
            run, _ = by_slot.get(k, (None, None))
            item.visible = run is not None and run.trajectory is not None
            if item.visible:
                item.label = {"value": f"{k}: {run.spec.name}"}
        # a slot whose run is the one already drawn keeps its source: moving one slider
        # sends one path to the browser, not four (runs are cached objects, _compute)
        keep = not new_structure and self.mode in ("2d", "1d") and self.mode == self._drawn_mode
        for k, (source, markers) in enumerate(zip(self.paths, self.markers, strict=True),
                                                  start=1):
            run, path = by_slot.get(k, (None, None))
            if keep and self._drawn.get(k, False) is run:
                continue
            if path is None:
                source.data, markers.data = _empty("x", "y"), _empty("x", "y")
            else:
                source.data = {"x": path[:, 0], "y": path[:, 1]}
                dots = dot_rows(path[marker_rows(len(path))])
                markers.data = {"x": dots[:, 0], "y": dots[:, 1]}
            self._drawn[k] = run
        self._drawn_mode = self.mode
        self.set_step(runs, step)

    def set_step(self, runs, step: int):
        """Move the current-step markers, tangents and arrows to ``step`` (no recompute)."""
        current = _empty("x", "y", "color")
        tangents = _empty("xs", "ys", "color")
        grads, moms = _empty("x0", "y0", "x1", "y1"), _empty("x0", "y0", "x1", "y1")
        source = {k: s.data for k, s in enumerate(self.paths, start=1)}
        vectors = []
        for r in runs:
            data = source.get(r.k)
            if r.trajectory is None or data is None or not len(data["x"]):
                continue
            i = min(step, len(data["x"]) - 1)
            color = COLORS[r.k - 1]
            current["x"].append(float(data["x"][i]))
            current["y"].append(float(data["y"][i]))
            current["color"].append(color)
            if self.mode == "1d":
                self._tangent(r, i, color, tangents)
            elif self.mode == "2d":
                vectors.append((r, i))
        _set(self.current, current)
        _set(self.tangents, tangents)
        if vectors:
            self._arrows(vectors, grads, moms)
        _set(self.gradient_arrows, grads)
        _set(self.momentum_arrows, moms)

    def _arrows(self, vectors, grads, moms):
        points = np.array([r.path[i] for r, i in vectors])
        gradient = -np.array([r.gradients[i] for r, i in vectors])
        momentum = []
        for r, i in vectors:
            buffer = r.momentum()
            if buffer is None:  # an optimizer without a buffer draws none
                momentum.append(np.full(2, np.nan))
            else:
                momentum.append(buffer[0][i - 1] if i >= 1 else np.zeros(2))
        momentum = np.array(momentum)
        (x0, x1), (y0, y1) = self.bounds
        room = ARROW_SHARE * float(np.hypot(x1 - x0, y1 - y0))
        for target, vec in ((grads, gradient), (moms, momentum)):
            finite = np.isfinite(vec).all(axis=1)
            longest = float(np.max(np.linalg.norm(vec[finite], axis=1), initial=0.0))
            if longest <= 0:
                continue
            scaled = vec * (room / longest)
            for p, v, ok in zip(points, scaled, finite, strict=True):
                if ok and np.linalg.norm(v) > 0:
                    target["x0"].append(p[0])
                    target["y0"].append(p[1])
                    target["x1"].append(p[0] + v[0])
                    target["y1"].append(p[1] + v[1])

    def _tangent(self, r, i, color, tangents):
        path = r.path
        w = float(path[i, 0])
        t = r.trajectory
        value = float(t.init_loss if i == 0 else t.loss[i - 1])
        slope = float(r.gradients[i][0])
        (x0, x1), _ = self.bounds
        half = 0.15 * (x1 - x0)
        xs = [w - half, w + half]
        tangents["xs"].append(xs)
        tangents["ys"].append([value + slope * (x - w) for x in xs])
        tangents["color"].append(color)

    def _set_box(self, bounds, *, y=True):
        self.bounds = bounds
        (x0, x1), (y0, y1) = bounds
        # the reset tool goes back to this box
        self.figure.x_range.update(start=x0, end=x1, reset_start=x0, reset_end=x1)
        if y:
            self.figure.y_range.update(start=y0, end=y1, reset_start=y0, reset_end=y1)

    def _draw_image(self, grid, floor_values=True):
        values = np.where(np.isfinite(grid.values), grid.values, np.nan)
        floor = log_floor(values)
        low = float(np.nanmin(values))
        shown = np.log10(values - low + floor) if floor is not None else values
        self.mapper.low, self.mapper.high = float(np.nanmin(shown)), float(np.nanmax(shown))
        (x0, x1), (y0, y1) = grid.bounds
        self.image.data = {"image": [shown], "x": [x0], "y": [y0], "dw": [x1 - x0],
                           "dh": [y1 - y0]}
        try:
            from bokeh.plotting.contour import contour_data

            levels = landscape_levels(values, 14)
            data = contour_data(grid.x, grid.y, np.nan_to_num(values, nan=np.nanmax(values)),
                                levels, want_fill=False, want_line=True)
            self.contours.data = {"xs": list(data.line_data.xs), "ys": list(data.line_data.ys)}
        except Exception:  # noqa: BLE001 - contours are decoration; the image stays
            self.contours.data = _empty("xs", "ys")
        self.figure.xaxis.axis_label = self.problem.param_names[0] if self.mode == "2d" \
            else "a"

    def _draw_2d(self, problem, paths, start, new_structure):
        bounds = landscape.path_bounds(problem, paths)
        if new_structure or bounds != self.bounds:
            self._set_box(bounds)
            self._draw_image(grid_for(problem, bounds))
        self.figure.xaxis.axis_label, self.figure.yaxis.axis_label = problem.param_names[:2]
        _set(self.curve, _empty("x", "y"))
        self._place({"x": [float(start[0])], "y": [float(start[1])]})
        minima = landscape.known_minimizers(problem)
        _set(self.minima, {"x": list(minima[:, 0]), "y": list(minima[:, 1])})

    def _draw_1d(self, problem, paths, start, all_paths):
        # the box comes from the start and the minimizer only (the start's mirror image
        # through the minimum puts it mid-figure), so a new learning rate reuses the curve
        minima = landscape.known_minimizers(problem).reshape(-1)
        anchors = np.concatenate([start, minima, 2 * minima[:1] - start[0]])
        low, high = float(anchors.min()), float(anchors.max())
        span = max(high - low, 1e-6)
        low, high = low - 0.25 * span, high + 0.25 * span
        ws, losses = curve_for(problem, low, high)
        _set(self.image, _empty("image", "x", "y", "dw", "dh"))
        _set(self.contours, _empty("xs", "ys"))
        if self.curve.data.get("x") is not ws:  # the cached curve of this box
            self.curve.data = {"x": ws, "y": losses}
        finite = losses[np.isfinite(losses)]
        top = float(finite.max()) if finite.size else 1.0
        bottom = float(finite.min()) if finite.size else 0.0
        pad = 0.05 * max(top - bottom, 1e-12)
        self._set_box(((low, high), (bottom - pad, top + pad)))
        self.figure.xaxis.axis_label = problem.param_names[0]
        self.figure.yaxis.axis_label = getattr(problem, "loss_name", "loss")
        self._place({"x": [start[0]], "y": [problem.loss(start)]})
        minimum = problem.minimum()
        _set(self.minima, {"x": list(minima), "y": [minimum] * len(minima)}
             if minimum is not None else _empty("x", "y"))
        drawn = []
        for path, run in zip(all_paths, self._runs, strict=True):
            if path is None:
                drawn.append(None)
                continue
            t = run.trajectory
            drawn.append(np.stack([path[:, 0], np.concatenate([[t.init_loss], t.loss])],
                                  axis=1))
        return drawn

    def _draw_plane(self, problem, paths, start, all_paths):
        self.plane = plane = landscape.path_plane(problem, paths or [start[None]])
        coordinates = [plane.coordinates(p) for p in paths] or [plane.coordinates(start[None])]
        bounds = landscape.plane_bounds(np.concatenate(coordinates))
        self._set_box(bounds)
        grid = landscape.plane_grid(problem, plane, bounds, resolution=PLANE_RESOLUTION)
        self._draw_image(grid)
        labels = plane.axis_labels()
        self.figure.xaxis.axis_label, self.figure.yaxis.axis_label = labels
        _set(self.curve, _empty("x", "y"))
        a, b = plane.coordinates(start[None])[0]
        self._place({"x": [a], "y": [b]})
        minimizer = problem.minimizer()
        if minimizer is not None:
            m = plane.coordinates(np.asarray(minimizer)[None])[0]
            _set(self.minima, {"x": [float(m[0])], "y": [float(m[1])]})
        else:
            _set(self.minima, _empty("x", "y"))
        return [None if p is None else plane.coordinates(p) for p in all_paths]
