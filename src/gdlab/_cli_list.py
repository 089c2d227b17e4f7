"""``gdlab list optimizers`` and ``gdlab list schedules``: plain text that fits the terminal.

Each optimizer is a block: its name and update, then one line per hyperparameter from its
declared table (:mod:`gdlab.optimizers._hyper`): the default (per convention where the
conventions differ), the allowed range in interval notation, ``schedule ok`` where a
schedule may take the value's place, and a few words; then the paper. Each schedule is a
block too: its settings, its formula in plain text (:mod:`gdlab.schedules._text`) and
each of its modes by name. Lines are wrapped here, between words, with continuation
lines indented, so that Rich never cuts one.
"""

from __future__ import annotations

import inspect
import textwrap

OPTIMIZERS_TITLE = ("optimizers (--optimizer NAME, --learning-rate, the other settings with "
                    "--set KEY=VALUE, e.g. --set convention=keras; ranges: [ ] includes the "
                    "end, ( ) excludes it)")
SCHEDULES_TITLE = ("schedules (--schedule NAME, settings with --set KEY=VALUE, "
                   "--learning-rate its starting or peak value; t counts the updates done, "
                   "from 0)")


def wrap(text: str, width: int, indent: int = 0, hanging: int = 4) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken between words; the first
    indented by ``indent`` spaces, the others by ``indent + hanging``. A word longer than
    a whole line (none in gdlab's texts) is the only thing ever cut."""
    first = " " * indent
    rest = " " * min(indent + hanging, max(width // 2, 0))
    return textwrap.wrap(text, width=max(width, 20), initial_indent=first,
                         subsequent_indent=rest, break_on_hyphens=False,
                         drop_whitespace=True) or [first.rstrip()]


def wrap_items(items: list[str], width: int, indent: int = 0, hanging: int = 4,
               lead: str = "") -> list[str]:
    """``lead`` then ``items`` joined by ``", "``, in lines of at most ``width``, broken
    only between items (an item too long for a line alone is wrapped as words)."""
    lines, line = [], " " * indent + lead
    rest = " " * min(indent + hanging, max(width // 2, 0))
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if line.strip() and len(line) + 1 + len(piece) > width and line != rest:
            lines.append(line.rstrip())
            line = rest
        line += ("" if line.endswith(" ") or not line.strip() else " ") + piece
    lines.append(line.rstrip())
    return [part for text in lines for part in (wrap(text, width, 0, len(rest))
                                                if len(text) > width else [text])]


def value_text(value) -> str:
    """A default as ``--set`` takes it: ``0.9``, ``1e-08``, ``true``, ``pytorch``, ``10,20``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(value_text(v) for v in value) or "()"
    return str(value)


def default_text(entry, conventions: tuple[str, ...]) -> str:
    """The row's default: one value, or each convention's where they differ
    (``pytorch 1e-08, optax 1e-08, keras 1e-07``)."""
    values = [entry.default_for(c) for c in conventions]
    if entry.by_convention and len({value_text(v) for v in values}) > 1:
        return ", ".join(f"{c} {value_text(v)}" for c, v in zip(conventions, values,
                                                                  strict=True))
    value = entry.default_for(conventions[0]) if conventions else entry.default
    return value_text(value)


def range_text(entry) -> str:
    """The allowed values, as the table states them: ``[0, 1)``, ``{pytorch, optax}``."""
    if entry.kind == "bool":
        words = "true/false"
    elif entry.kind == "choice":
        words = "{" + ", ".join(entry.choices) + "}"
    elif entry.kind == "floats":
        words = f"{entry.size} numbers, each in {entry.interval()}"
    else:
        words = entry.interval()
    return words + (" or None" if entry.optional else "")


def words_text(entry) -> str:
    """The row's words, then ``schedule ok`` where a schedule may take the value's place
    and the conventions it is limited to."""
    words = ["whose form" if entry.name == "convention" else entry.text]
    if entry.schedule:
        words.append("schedule ok")
    if entry.only:
        words.append(", ".join(entry.only) + " only")
    return "; ".join(w for w in words if w)


def _columns(rows: list[tuple[str, ...]], width: int) -> list[str]:
    """Rows of cells (name, default, range, words) as lines: the first three padded to a
    common width (a cell too long for its column pushes the rest along), a long line
    wrapped under the words' column (under the default's on a narrow terminal)."""
    caps = (26, 12, 12)
    widths = [max((len(r[i]) for r in rows if len(r[i]) <= caps[i]), default=0)
              for i in range(len(caps))]
    words_at = 2 + sum(widths) + 2 * len(widths)
    hanging = words_at - 2 if words_at <= width // 2 else widths[0] + 2
    lines = []
    for row in rows:
        cells, aligned = [], True
        for i, cell in enumerate(row):
            aligned = aligned and i < len(caps) and len(cell) <= widths[i]
            cells.append(cell.ljust(widths[i]) if aligned else cell)
        lines += wrap("  ".join(cells).rstrip(), width, indent=2, hanging=hanging)
    return lines


def _fallback_rows(name: str, info) -> list[tuple[str, ...]]:
    """An optimizer without a declared table: its defaults as the registry and the
    factory's signature give them (the range is the factory's to judge)."""
    from gdlab.optimizers._registry import CONVENTION_DEFAULTS

    by_convention = CONVENTION_DEFAULTS.get(name, {})
    rows = []
    for key, parameter in inspect.signature(info.factory).parameters.items():
        if parameter.default is inspect.Parameter.empty:
            continue
        default = info.defaults.get(key, parameter.default)
        values = {c: v[key] for c, v in by_convention.items() if key in v}
        if values and len({value_text(v) for v in values.values()}) > 1:
            shown = ", ".join(f"{c} {value_text(v)}" for c, v in values.items())
        elif values:
            shown = value_text(next(iter(values.values())))
        else:
            shown = value_text(default)
        if key == "convention" and info.conventions:
            rows.append((key, shown, "{" + ", ".join(info.conventions) + "}", "whose form"))
        else:
            rows.append((key, shown, "", ""))
    return rows


def optimizer_lines(name: str, width: int) -> list[str]:
    """The block of optimizer ``name``: update, one line per hyperparameter, paper."""
    from gdlab.optimizers import OPTIMIZERS

    info = OPTIMIZERS[name]
    hanging = len(name) + 2 if width - len(name) - 2 >= 40 else 4
    lines = wrap(f"{name}  {info.summary}", width, hanging=hanging)
    table = info.table
    if table is None:
        rows = _fallback_rows(name, info)
    else:
        conventions = table.conventions
        rows = [(e.name, default_text(e, conventions), range_text(e), words_text(e))
                for e in table]
    lines += _columns(rows, width)
    if table is not None:
        signature = inspect.signature(info.factory).parameters
        others = [k if p.default is inspect.Parameter.empty else f"{k}={value_text(p.default)}"
                  for k, p in signature.items() if k not in table]
        if others:
            others[-1] += " (no declared range; see the factory's docstring)"
            lines += wrap_items(others, width, indent=2, hanging=6, lead="also: ")
    if info.reference:
        lines += wrap(info.reference, width, indent=2)
    return lines


def schedule_settings(factory) -> str:
    """A schedule's settings as today's listing shows them: ``init_value, gamma=0.1``."""
    from gdlab.schedules import KINDS, SCHEDULES

    parameters = dict(inspect.signature(factory).parameters)
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):  # lrbench: its kind's
        name = next(k for k, f in SCHEDULES.items() if f is factory)
        kinds = list(inspect.signature(KINDS[name]).parameters.values())[1:]
        parameters = {k: v for k, v in parameters.items() if v.kind != v.VAR_KEYWORD}
        parameters.update({p.name: p for p in kinds if p.name not in parameters})
    shown = []
    for key, parameter in parameters.items():
        default = parameter.default
        if default is inspect.Parameter.empty or (isinstance(default, tuple) and not default):
            shown.append(key)
        else:
            shown.append(f"{key}={value_text(default)}")
    return ", ".join(shown)


def formula_text(formula) -> str:
    """A :class:`~gdlab.schedules._text.Formula` on one logical line."""
    parts = "; ".join(formula.value)
    if formula.where:
        parts += (", where " if parts else "") + ", ".join(formula.where)
    if formula.note:
        parts += f" ({formula.note})" if parts else formula.note
    return parts


def schedule_lines(name: str, width: int) -> list[str]:
    """The block of schedule ``name`` (or ``reduce_on_plateau``): settings, formula, modes."""
    from gdlab.schedules import SCHEDULES
    from gdlab.schedules._text import PLATEAU, TEXTS

    if name == "reduce_on_plateau":
        from gdlab.optimizers import reduce_on_plateau

        settings = ", ".join(f"{k}={value_text(p.default)}" for k, p in
                             inspect.signature(reduce_on_plateau).parameters.items()
                             if p.default is not inspect.Parameter.empty)
        lines = wrap(f"{name}  {settings}", width, hanging=len(name) + 2)
        for text in PLATEAU:
            lines += wrap(text, width, indent=2)
        return lines
    text = TEXTS[name]
    lines = wrap(f"{name}  {schedule_settings(SCHEDULES[name])}", width,
                 hanging=len(name) + 2 if width - len(name) >= 40 else 4)
    formula = text.formula
    for line in formula.value:
        lines += wrap(line, width, indent=2)
    for i, line in enumerate(formula.where):
        lines += wrap(("where " if i == 0 else "      ") + line, width, indent=2, hanging=8)
    symbols = [f"{s} = {k}" for s, k in text.symbols if s != k]
    if symbols:
        lines += wrap_items(symbols, width, indent=2, hanging=10, lead="settings: ")
    if formula.note:
        lines += wrap(formula.note, width, indent=2)
    if text.modes:
        labels = {mode: f"{text.mode}={mode}" for mode in text.modes}
        column = max(len(label) for label in labels.values())
        for mode, formula in text.modes.items():
            lines += wrap(f"{labels[mode].ljust(column)}  {formula_text(formula)}", width,
                          indent=2, hanging=column + 2)
    if text.source:
        lines += wrap(text.source, width, indent=2)
    return lines


def schedule_names() -> tuple[str, ...]:
    """What ``gdlab list schedules NAME`` takes: every schedule, and reduce_on_plateau."""
    from gdlab.schedules import SCHEDULES

    return (*SCHEDULES, "reduce_on_plateau")


def print_blocks(console, title: str, blocks: list[list[str]], footer: str = "") -> None:
    """Print ``title`` and the blocks, a blank line between, names in bold; no markup is
    read from the text and Rich wraps nothing (every line already fits)."""
    from rich.text import Text

    width = console.width
    for line in wrap(title, width, hanging=2):
        console.print(Text(line, style="bold"), soft_wrap=True)
    for block in blocks:
        console.print("", soft_wrap=True)
        head = Text(block[0])
        name = block[0].split("  ", 1)[0]
        head.stylize("bold", 0, len(name))
        console.print(head, soft_wrap=True)
        for line in block[1:]:
            console.print(Text(line), soft_wrap=True)
    if footer:
        console.print("", soft_wrap=True)
        for line in wrap(footer, width, hanging=2):
            console.print(Text(line), soft_wrap=True)


def print_optimizers(console, name: str | None = None) -> None:
    """``gdlab list optimizers [NAME]``."""
    from gdlab._validation import check_choice
    from gdlab.optimizers import OPTIMIZERS

    if name is not None:
        check_choice("optimizer", name, OPTIMIZERS)
    names = list(OPTIMIZERS) if name is None else [name]
    print_blocks(console, OPTIMIZERS_TITLE, [optimizer_lines(n, console.width) for n in names])


def print_schedules(console, name: str | None = None) -> None:
    """``gdlab list schedules [NAME]``."""
    from gdlab._validation import check_choice
    from gdlab.schedules._text import COMPOSED

    names = schedule_names()
    if name is not None:
        check_choice("schedule", name, names)
    chosen = list(names) if name is None else [name]
    footer = "" if name is not None else (
        f"{', '.join(COMPOSED)}: schedules made of schedules, in Python "
        "(gdlab.schedules); any hyperparameter marked 'schedule ok' in gdlab list "
        "optimizers takes a schedule in Python")
    print_blocks(console, SCHEDULES_TITLE, [schedule_lines(n, console.width) for n in chosen],
                 footer)

