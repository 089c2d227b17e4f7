"""``gdlab benchmark``: a fair optimizer benchmark with AlgoPerf's rules, in minutes.

A thin command over :func:`gdlab.benchmark.run_benchmark`: it checks every option before
any work, runs the suite (``--quick``: the small one), prints one table per workload and
the scores, and writes the tables (Parquet), the wall times, a manifest and
``profiles.png`` to ``--out``.
"""

from __future__ import annotations

from typing import Annotated

import typer

RULESET_CHOICES = {"external": ("external",), "defaults": ("defaults",),
                   "both": ("external", "defaults")}


def register(app, fail, console, build_problem) -> None:
    """Add ``gdlab benchmark`` to ``app`` (``build_problem`` is unused: the workloads
    are fixed by the suite)."""

    @app.command()
    def benchmark(
        quick: Annotated[bool, typer.Option(
            "--quick", help="The small suite: 4 workloads, 6 optimizers, 3 studies of 3 "
            "trials (about a minute).")] = False,
        out: Annotated[str, typer.Option(
            help="Folder for the Parquet tables, wall_times.parquet, manifest.json and "
            "profiles.png.")] = "results/benchmark",
        ruleset: Annotated[str, typer.Option(
            help="external (tuned trials in studies), defaults (each optimizer's defaults) "
            "or both.")] = "both",
        optimizers: Annotated[str | None, typer.Option(
            help="Entrants, comma-separated registry names (default: every optimizer but "
            "newton; --quick: sgd,momentum,nesterov,adam,adamw,nadam).")] = None,
        seed: Annotated[str, typer.Option(
            help="Seed of every draw (trials, studies, data order), in [0, 2**32 - 1].")]
            = "0",
    ) -> None:
        """Benchmark optimizers on small workloads by AlgoPerf's rules: time to a target
        in steps, performance profiles and the score B (see docs/benchmark.md)."""
        from gdlab import InvalidParameterError

        try:
            config, folder = _config(quick, out, ruleset, optimizers, seed)
        except InvalidParameterError as error:
            fail(error)
        from gdlab.benchmark import run_benchmark

        result = run_benchmark(config, progress=lambda line: console.print(
            f"[dim]{line}[/dim]", highlight=False))
        _print(console, result)
        for path in _write(folder, result):
            console.print(f"wrote {path}")


def _config(quick, out, ruleset, optimizers, seed):
    from gdlab import InvalidParameterError, store
    from gdlab.benchmark import BenchmarkConfig

    if ruleset not in RULESET_CHOICES:
        raise InvalidParameterError("--ruleset", f"one of {sorted(RULESET_CHOICES)}", ruleset)
    try:
        seed_value = int(seed)
    except ValueError:
        raise InvalidParameterError("--seed", "an int in the range [0, 4294967295]",
                                    seed) from None
    if not 0 <= seed_value <= 2**32 - 1:
        raise InvalidParameterError("--seed", "an int in the range [0, 4294967295]", seed)
    overrides = {"rulesets": RULESET_CHOICES[ruleset], "seed": seed_value}
    if optimizers is not None:
        names = tuple(name.strip() for name in optimizers.split(","))
        from gdlab.optimizers import OPTIMIZERS

        for name in names:
            if name not in OPTIMIZERS:
                raise InvalidParameterError("--optimizers", "comma-separated names from "
                                            f"{sorted(OPTIMIZERS)}", name)
        if len(set(names)) != len(names):
            raise InvalidParameterError("--optimizers", "distinct names", optimizers)
        overrides["optimizers"] = names
    folder = store.prepare_directory(out, "--out", create=False)
    config = BenchmarkConfig.quick(**overrides) if quick else BenchmarkConfig(**overrides)
    return config, folder


def _number(steps: float) -> str:
    return "miss" if steps == float("inf") else f"{steps:g}"


def _print(console, result) -> None:
    from rich.table import Table

    scores, wall = result.scores, result.wall
    for target in result.targets.to_dict("records"):
        name = target["workload"]
        title = (f"{name}: target {target['metric']} <= {target['target']:.6g} "
                 f"(set by {target['set_by']}; steps to target, wall-clock estimate)")
        table = Table(title=title, title_justify="left")
        table.add_column("optimizer")
        rulesets = list(result.config.rulesets)
        for ruleset in rulesets:
            table.add_column(f"{ruleset}: steps", justify="right")
            table.add_column("s", justify="right")
        for optimizer in result.config.optimizers:
            cells = [optimizer]
            for ruleset in rulesets:
                row = scores[(scores.workload == name) & (scores.optimizer == optimizer)
                             & (scores.ruleset == ruleset)].iloc[0]
                seconds = wall[(wall.workload == name) & (wall.optimizer == optimizer)
                               & (wall.ruleset == ruleset)].iloc[0]["wall_to_target_s"]
                cells += [_number(row["steps"]),
                          "-" if seconds == float("inf") else f"{seconds:.3f}"]
            table.add_row(*cells)
        console.print(table)
    table = Table(title="benchmark score B (1: fastest on every workload; 0: never within "
              f"{result.config.r_max:g}x of the fastest)", title_justify="left")
    table.add_column("optimizer")
    for ruleset in result.config.rulesets:
        table.add_column(f"B {ruleset}", justify="right")
        table.add_column("reached", justify="right")
    bench = result.benchmark
    first = result.config.rulesets[0]
    order = bench[bench.ruleset == first].sort_values(["score", "optimizer"],
                                                      ascending=[False, True])["optimizer"]
    count = len(result.config.workloads)
    for optimizer in order:
        cells = [optimizer]
        for ruleset in result.config.rulesets:
            row = bench[(bench.ruleset == ruleset) & (bench.optimizer == optimizer)].iloc[0]
            cells += [f"{row['score']:.3f}", f"{row['workloads_reached']}/{count}"]
        table.add_row(*cells)
    console.print(table)
    info = result.info
    console.print(f"wall time {info['wall_time_s']:.1f} s, CPU time {info['cpu_time_s']:.1f} s",
                  highlight=False)


def _write(folder, result) -> list:
    from gdlab.plots import use_file_backend

    use_file_backend()
    import matplotlib.pyplot as plt

    from gdlab.plots.profiles import plot_benchmark_profiles
    from gdlab.store import atomic_path, prepare_directory

    prepare_directory(folder, "--out")
    paths = list(result.write(folder).values())
    figure = plot_benchmark_profiles(result.profiles, result.benchmark)
    destination = folder / "profiles.png"
    with atomic_path(destination) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)
    return [*paths, destination]
