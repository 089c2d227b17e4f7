"""The result of one run: recorded arrays, a status and where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Status:
    """How a run ended.

    Attributes:
        kind: ``"converged"`` (the full-data gradient norm fell to ``tol``),
            ``"diverged"`` (a non-finite value, or a loss beyond the divergence bound) or
            ``"max_steps"`` (ran all its steps).
        step: the update (1-based) at which it converged or diverged; ``None`` for
            ``"max_steps"``.
        reason: one sentence for people.
        checked_every: how often (in updates) convergence was checked: a run that
            converged at step 30 with ``checked_every=10`` may have met the tolerance
            as early as step 21.
    """

    kind: str
    step: int | None
    reason: str
    checked_every: int = 1

    def __str__(self) -> str:
        if self.step is None:
            return self.kind
        text = f"{self.kind} at step {self.step}"
        if self.kind == "converged" and self.checked_every > 1:
            text += f" (checked every {self.checked_every} steps)"
        return text


@dataclass
class Trajectory:
    """Arrays recorded every ``record_every`` updates, up to where the run stopped.

    Index ``k`` describes update number ``step[k]`` (1-based). The records strictly
    before the final state are kept, and the last index is always the final state: at
    ``num_steps``, at the step the run converged or diverged, or, when the diverged
    state was not finite, at the step before it (the last finite state). So the last
    row does not depend on ``record_every``. The starting point is in ``init_params``,
    ``init_loss`` and ``init_grad_norm`` (and the first row of :meth:`to_frame`).

    Attributes:
        step: the update numbers recorded, shape ``(T,)``.
        params: parameters *after* that update, ``(T, d)``.
        batch_loss: loss of that update's batch at the parameters it was computed at
            (before the update), as the article records it, ``(T,)``.
        loss: full-data loss at ``params``, ``(T,)``.
        grad_norm: Euclidean norm of the (batch) gradient the update used, ``(T,)``.
        full_grad_norm: norm of the full-data gradient at ``params``, ``(T,)``.
        learning_rate: learning rate the update used, ``(T,)`` (NaN when unknown).
        hyperparams: every scheduled hyperparameter (and the learning rate) as the
            update used it, by name, ``(T,)`` each.
        internals: optimizer state fields by name (e.g. momentum buffer ``b``), ``(T, d)``
            each; empty for problems with more than ``max_internals`` parameters.
        init_params: the starting point, ``(d,)``.
        init_loss: full-data loss at the starting point.
        init_grad_norm: norm of the full-data gradient at the starting point.
        status: how the run ended.
        settings: the optimizer's name and settings, the seed and the sampling scheme.
        dtype: the floating-point type the run used.
        param_names: a name per parameter.
    """

    step: np.ndarray
    params: np.ndarray
    batch_loss: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    full_grad_norm: np.ndarray
    learning_rate: np.ndarray
    internals: dict[str, np.ndarray]
    init_params: np.ndarray
    init_loss: float
    status: Status
    hyperparams: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    dtype: str = "float64"
    param_names: tuple[str, ...] = ()
    init_grad_norm: float = float("nan")

    @property
    def final_params(self) -> np.ndarray:
        """Parameters of the final state (the start if nothing was recorded)."""
        return self.params[-1] if len(self.step) else self.init_params

    @property
    def final_loss(self) -> float:
        """Full-data loss of the final state."""
        return float(self.loss[-1]) if len(self.step) else self.init_loss

    def __repr__(self) -> str:
        # the dataclass repr printed every array (137 KB for a list of runs)
        name = self.settings.get("describe", self.settings.get("optimizer", "?"))
        return (f"Trajectory({name}, {len(self.step)} records up to step "
                f"{int(self.step[-1]) if len(self.step) else 0}, status={self.status}, "
                f"final_loss={self.final_loss:.6g}, dtype={self.dtype})")

    def columns(self) -> dict[str, np.ndarray]:
        """One array per field, one entry per recorded update (params as ``param_<name>``)."""
        columns = {
            "step": self.step,
            "batch_loss": self.batch_loss,
            "loss": self.loss,
            "grad_norm": self.grad_norm,
            "full_grad_norm": self.full_grad_norm,
            "learning_rate": self.learning_rate,
        }
        names = self.param_names or tuple(str(j) for j in range(self.params.shape[1]))
        for j, name in enumerate(names):
            columns[f"param_{name}"] = self.params[:, j]
        for key, values in self.internals.items():
            if values.ndim == 1:  # a scalar of the state, e.g. reduce_on_plateau's scale
                columns[key] = values
                continue
            for j, name in enumerate(names):
                columns[f"{key}_{name}"] = values[:, j]
        for key, values in self.hyperparams.items():
            if key != "learning_rate":
                columns[f"hyper_{key}"] = values
        return columns

    def to_frame(self, start: bool = True):
        """A pandas DataFrame of :meth:`columns`: one row per recorded update.

        Args:
            start: begin with a row for the starting point (step 0: its parameters,
                full-data loss and gradient norm; the batch quantities, which belong to
                an update, are NaN there).
        """
        import pandas as pd

        frame = pd.DataFrame(self.columns())
        if not start:
            return frame
        first = {name: np.nan for name in frame.columns}
        first.update(step=0, loss=self.init_loss, full_grad_norm=self.init_grad_norm)
        names = self.param_names or tuple(str(j) for j in range(self.params.shape[1]))
        for j, name in enumerate(names):
            first[f"param_{name}"] = self.init_params[j]
        head = pd.DataFrame({k: [v] for k, v in first.items()}).astype(frame.dtypes.to_dict())
        return pd.concat([head, frame], ignore_index=True)
