"""``gdlab theory``: the theory of gradient descent and heavy ball on one problem.

A thin command over :func:`gdlab.theory.analyse`: exact on a quadratic, local at the
minimizer (or ``--at``) elsewhere, printed as a table; with ``--out``, the rate map
(:func:`gdlab.plots.plot_rate_map`) with the rates measured on three full-batch runs laid
over it (gradient descent at 2/(L+μ), heavy ball at Polyak's setting, and the given
``--learning-rate``/``--momentum`` when there are), and ``theory.json``.

``--kappa K`` is the issue's shorthand for ``--problem-set kappa=K``: accepted for the
problems that take a ``kappa`` setting (the quadratic bowl), refused for the others.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class Method(StrEnum):
    sgd = "sgd"
    momentum = "momentum"


MAX_MEASURE_STEPS = 20_000
"""The longest run ``--out`` measures a rate on (the slowest rate's steps to 1e-10,
capped)."""


def register(app, fail, console, build_problem) -> None:
    """Add ``gdlab theory`` to ``app``; ``build_problem(name, pairs, seed)`` is the CLI's
    own problem builder (``--problem-set`` read as the builder's types), passed in so that
    this module does not import :mod:`gdlab.cli`, which imports it."""

    @app.command()
    def theory(
        problem: Annotated[str, typer.Option(help="Problem name (see `gdlab list problems`).")]
            = "quadratic",
        problem_set: Annotated[list[str] | None, typer.Option(
            "--problem-set", help="Problem setting KEY=VALUE (repeatable), e.g. kappa=100 "
            "for quadratic, b=50 for rosenbrock.")] = None,
        kappa: Annotated[str | None, typer.Option(
            help="Shorthand for --problem-set kappa=K (problems with a kappa setting).")]
            = None,
        optimizer: Annotated[Method, typer.Option(
            help="The method whose threshold and rate are shown: sgd (gradient descent) or "
            "momentum (heavy ball).")] = Method.sgd,
        learning_rate: Annotated[str | None, typer.Option(
            help="A learning rate to predict the rate at, > 0.")] = None,
        momentum: Annotated[str | None, typer.Option(
            help="Heavy-ball momentum in [0, 1) (with --optimizer momentum; default 0.9).")]
            = None,
        at: Annotated[str | None, typer.Option(
            help="Take the Hessian here, X,Y,... (default the minimizer; a quadratic's is "
            "the same everywhere).")] = None,
        seed: Annotated[str, typer.Option(help="Seed of a problem's data, >= 0.")] = "0",
        out: Annotated[str | None, typer.Option(
            help="Folder for rate_map.png (with measured runs) and theory.json.")] = None,
    ) -> None:
        """The theory of gradient descent and heavy ball on a problem: exact for a
        quadratic, local near the minimizer (or --at) otherwise."""
        from gdlab import InvalidParameterError

        try:
            facts, built, measured = _theory(build_problem, problem, problem_set or [],
                                             kappa, optimizer.value, learning_rate,
                                             momentum, at, seed, out)
        except InvalidParameterError as error:
            fail(error)
        _print(console, facts, built, measured)
        if out is not None:
            for path in _write(out, facts, built, measured):
                console.print(f"wrote {path}")


def _theory(build_problem, problem, pairs, kappa, optimizer, learning_rate, momentum, at,
            seed, out):
    from gdlab import InvalidParameterError, store
    from gdlab import theory as theory_module
    from gdlab._validation import MAX_SEED, check_float, check_int

    seed = check_int("seed", seed, low=0, high=MAX_SEED)
    if out is not None:
        store.prepare_directory(out, "--out", create=False)
    settings = {"learning_rate": None}  # no rate at the registry's default unless asked
    if learning_rate is not None:
        settings["learning_rate"] = check_float("learning_rate", learning_rate, low=0.0)
    if momentum is not None:
        if optimizer != "momentum":
            raise InvalidParameterError("--momentum", "used with --optimizer momentum",
                                        f"--optimizer {optimizer}")
        settings["momentum"] = check_float("momentum", momentum, low=0.0, high=1.0,
                                           closed="left")
    pairs = list(pairs)
    if kappa is not None:
        from gdlab.problems import REGISTRY

        if problem in REGISTRY and "kappa" not in REGISTRY[problem].listed_settings():
            raise InvalidParameterError("--kappa", "used with a problem that has a kappa "
                                        "setting (quadratic)", f"--problem {problem}")
        if any(pair.partition("=")[0].strip() == "kappa" for pair in pairs):
            raise InvalidParameterError("--kappa", "given once (not also as --problem-set "
                                        "kappa=...)", kappa)
        pairs.append(f"kappa={kappa}")
    built = build_problem(problem, pairs, seed)
    point = None if at is None else _parse_point(at, built)
    try:
        facts = theory_module.analyse(built, optimizer, at=point, local=True, **settings)
    except InvalidParameterError as error:  # the library's "at" is the option --at here
        if error.parameter != "at":
            raise
        raise InvalidParameterError("--at", error.allowed, error.received) from None
    measured = _measure(built, facts) if out is not None and facts is not None else []
    return facts, built, measured


def _parse_point(text: str, problem):
    from gdlab import InvalidParameterError

    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise InvalidParameterError("--at", f"{problem.num_params} comma-separated numbers, "
                                    "e.g. 1,1", text) from None
    if len(values) != problem.num_params:
        raise InvalidParameterError("--at", f"{problem.num_params} comma-separated numbers "
                                    f"(one per parameter of {problem.name})", text)
    return values


def _measure(problem, facts) -> list:
    """Rates measured on full-batch runs from the problem's start: gradient descent at
    2/(L+μ), heavy ball at Polyak's setting, and this optimizer's own setting."""
    import math

    import gdlab
    from gdlab import theory

    if not facts.is_minimum or problem.minimizer() is None:
        return []
    polyak = facts.heavy_ball_optimal
    runs = [dict(learning_rate=facts.gd_optimal_learning_rate, momentum=0.0),
            dict(learning_rate=polyak.learning_rate, momentum=polyak.momentum)]
    rates = [facts.gd_optimal_rate, polyak.rate]
    if facts.rate is not None:
        runs.append(dict(learning_rate=facts.learning_rate, momentum=facts.momentum or 0.0))
        rates.append(facts.rate)
    slowest = max(r for r in rates if r < 1.0) if any(r < 1.0 for r in rates) else 0.5
    steps = int(min(MAX_MEASURE_STEPS, max(50, math.ceil(
        1.5 * theory.steps_to_reduce(slowest, 1e10)))))
    trajectories = gdlab.run_many(problem, "momentum", runs, num_steps=steps)
    # the distance to the theory's own point (Himmelblau has four minima)
    return [theory.measure_rate(t, problem, minimizer=facts.point or problem.minimizer())
            for t in trajectories]


def _print(console, facts, problem, measured=()) -> None:
    import math

    from rich.table import Table

    if facts is None:  # only an optimizer outside the theory would get here
        console.print("no theory applies")
        return
    scope = "exact" if facts.exact else "local"
    table = Table(title=f"theory of {facts.method} on {problem.name} ({scope})")
    table.add_column("quantity")
    table.add_column("formula", style="dim")
    table.add_column("value", overflow="fold")
    for quantity, formula, value in facts.table():
        table.add_row(quantity, formula, value)
    console.print(table)
    if not measured:
        return
    runs = Table(title="rates measured on full-batch runs from the start (fit of log "
                 "distance over the tail)")
    for column in ("learning rate η", "momentum β", "measured ρ", "theory ρ", "steps fitted",
                   "run"):
        runs.add_column(column, justify="right")
    for found in measured:
        predicted = facts.rate_at(found.learning_rate, found.momentum)
        shown = (f"{found.rate:.6g}" if math.isfinite(found.rate) else
                 f"floor at step {found.last_step + 1}")
        runs.add_row(f"{found.learning_rate:.6g}", f"{found.momentum:.6g}", shown,
                     f"{predicted:.6g}",
                     f"{found.first_step}-{found.last_step}", str(found.status))
    console.print(runs)
    if not facts.exact:
        console.print("The runs start at the problem's start, not near the point: the local "
                      "theory describes them only once (and if) they get close.",
                      soft_wrap=True)


def _write(out, facts, problem, measured) -> list:
    import math

    import matplotlib.pyplot as plt

    from gdlab import store
    from gdlab import theory as theory_module
    from gdlab.plots import plot_rate_map, use_file_backend

    use_file_backend()  # the CLI only writes files; the library leaves the backend alone
    folder = store.prepare_directory(out, "--out")
    written = []
    if facts is not None and facts.lambda_max > 0.0:
        grid = theory_module.rate_map(facts)
        figure, ax = plt.subplots(figsize=(7.5, 5.4), layout="constrained")
        plot_rate_map(grid, measured=measured, ax=ax)
        with store.atomic_path(folder / "rate_map.png") as temporary:
            figure.savefig(temporary, dpi=120, format="png")
        plt.close(figure)
        written.append(folder / "rate_map.png")
    record = {"command": "theory", "problem": problem.name,
              "exact": None if facts is None else facts.exact,
              "point": None if facts is None else facts.point,
              "eigenvalues": None if facts is None else list(facts.eigenvalues),
              "rows": [] if facts is None else [list(row) for row in facts.table()],
              "measured": [{**m.__dict__, "rate": m.rate if math.isfinite(m.rate) else None}
                           for m in measured], "versions": store.versions()}
    written.append(store.write_json(folder / "theory.json", record))
    return written
