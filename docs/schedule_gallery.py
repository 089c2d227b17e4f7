"""Draw every gdlab schedule on one page: ``docs/images/schedules-gallery.png``.

Run: ``.venv/bin/python docs/schedule_gallery.py`` (``make gallery``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import gdlab  # noqa: E402,F401  (float64)
from gdlab import schedules as S  # noqa: E402
from gdlab.plots import plot_schedule  # noqa: E402

STEPS = 200
CYCLE = S.one_cycle(0.1, STEPS)

GALLERY = [
    ("constant(0.1)", S.constant(0.1)),
    ("step(0.1, step_size=50, gamma=0.5)", S.step(0.1, 50, 0.5)),
    ("multistep(0.1, [60, 120, 160], 0.3)", S.multistep(0.1, [60, 120, 160], 0.3)),
    ("exponential(0.1, 0.98)", S.exponential(0.1, 0.98)),
    ("exponential(0.1, 0.5, 40, staircase, end 0.01)",
     S.exponential(0.1, 0.5, 40, staircase=True, end_value=0.01)),
    ("inverse_time(0.1, 1.0, 20)", S.inverse_time(0.1, 1.0, 20)),
    ("polynomial(0.1, 0.01, power=2, 150)", S.polynomial(0.1, 0.01, 2.0, 150)),
    ("cosine(0.1, 200, alpha=0.05)", S.cosine(0.1, 200, alpha=0.05)),
    ("sgdr(0.1, 20, period_mult=2)", S.sgdr(0.1, 20, 2.0)),
    ("sgdr(0.1, 40, restart_decay=0.7)", S.sgdr(0.1, 40, restart_decay=0.7)),
    ("warmup(cosine(0.1, 170), 30)", S.warmup(S.cosine(0.1, 170), 30)),
    ("warmup_stable_decay(0.1, 20, 120, 60)", S.warmup_stable_decay(0.1, 20, 120, 60)),
    ("wsd, decay='sqrt'", S.warmup_stable_decay(0.1, 20, 120, 60, decay="sqrt")),
    ("cyclic triangular (0.01, 0.1, 25)", S.cyclic(0.01, 0.1, 25)),
    ("cyclic triangular2", S.cyclic(0.01, 0.1, 25, mode="triangular2")),
    ("cyclic exp_range, gamma=0.99", S.cyclic(0.01, 0.1, 25, mode="exp_range", gamma=0.99)),
    ("one_cycle(0.1, 200): learning rate", CYCLE["learning_rate"]),
    ("one_cycle(0.1, 200): momentum", CYCLE["momentum"]),
    ("join([constant, exponential], [100])",
     S.join([S.constant(0.1), S.exponential(0.1, 0.97)], [100])),
]
LRBENCH = {
    "FIX": {"k0": 0.05}, "STEP": {"k0": 0.1, "gamma": 0.5, "l": 50},
    "NSTEP": {"k0": 0.1, "gamma": 0.3, "milestones": (60, 120, 160)},
    "EXP": {"k0": 0.1, "gamma": 0.985}, "INV": {"k0": 0.1, "gamma": 0.05, "p": 0.75},
    "POLY": {"k0": 0.005, "k1": 0.1, "p": 1.5, "l": 200},
    "TRI": {"k0": 0.01, "k1": 0.1, "l": 25}, "TRI2": {"k0": 0.01, "k1": 0.1, "l": 25},
    "TRIEXP": {"k0": 0.01, "k1": 0.1, "gamma": 0.99, "l": 25},
    "SIN": {"k0": 0.01, "k1": 0.1, "l": 25}, "SIN2": {"k0": 0.01, "k1": 0.1, "l": 25},
    "SINEXP": {"k0": 0.01, "k1": 0.1, "gamma": 0.99, "l": 25},
    "COS": {"k0": 0.005, "k1": 0.1, "l": 50},
}
GALLERY += [(f"lrbench {name}", S.lrbench(name, **params)) for name, params in LRBENCH.items()]


def main(target: Path | None = None) -> Path:
    columns = 4
    rows = -(-len(GALLERY) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(16, 2.6 * rows), sharex=True)
    for ax, (title, schedule) in zip(axes.flat, GALLERY, strict=False):
        plot_schedule(schedule.values(STEPS), ax=ax, ylabel="")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
    for ax in list(axes.flat)[len(GALLERY):]:
        ax.set_visible(False)
    figure.suptitle(f"Every gdlab schedule over {STEPS} steps (value used at each step)")
    figure.tight_layout(rect=(0, 0, 1, 0.975))
    target = target or Path(__file__).parent / "images" / "schedules-gallery.png"
    target.parent.mkdir(exist_ok=True)
    figure.savefig(target, dpi=80)
    plt.close(figure)
    return target


if __name__ == "__main__":
    print(main())
