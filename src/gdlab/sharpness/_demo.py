r"""The edge of stability on a small network: Cohen et al.'s experiment in seconds.

Full-batch gradient descent at a fixed learning rate :math:`\eta` on a tanh network.
Early in training the sharpness rises (*progressive sharpening*); when it reaches
:math:`2/\eta`, where gradient descent on the local quadratic model would diverge, it
stops rising and hovers at :math:`2/\eta`, while the loss keeps falling, though no
longer monotonically: spikes, each followed by a drop of the sharpness back below the
threshold (Cohen et al. 2021).

The setting (:func:`edge_of_stability_demo`'s defaults): the first 500 training rows of
scikit-learn's digits (8x8 images, 64 features standardised on the training rows), a
network 64-32-1 with tanh, trained by mean squared error without the factor 1/2 to
predict the digit's value (0-9, standardised over those rows): a scalar regression, as
in Cohen et al.'s MSE experiments, which show the effect more cleanly than
cross-entropy (whose sharpness falls as the margins grow). Gradient descent at
:math:`\eta = 0.1` (threshold 20) for 2,000 steps; the sharpness every 20 steps.

Speed: gdlab's MLP loss adds its matrix products one input unit at a time, so that runs
vmapped together equal single runs bit for bit; on these sizes that costs about 12x the
time of a matrix product and its Hessian-vector product ~12 s to compile.
:func:`matmul_mlp` is the same network written with matrix products (equal to rounding:
``tests/test_sharpness.py`` holds its Hessian-vector products to the original's), and
the demonstration trains and measures it.

References:
    J. M. Cohen, S. Kaur, Y. Li, J. Z. Kolter, A. Talwalkar, "Gradient Descent on Neural
    Networks Typically Occurs at the Edge of Stability", ICLR 2021, arXiv:2103.00065.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from gdlab._validation import InvalidParameterError, check_float, check_int
from gdlab.problems import MLP
from gdlab.problems._mlp import ACTIVATIONS, MLPLoss
from gdlab.sharpness._trace import SharpnessTrace, sharpness_along


@dataclass(frozen=True)
class MatmulMLPLoss(MLPLoss):
    """:class:`~gdlab.problems._mlp.MLPLoss` with each layer one matrix product."""

    def forward(self, params, X):
        phi = ACTIVATIONS[self.activation]
        a, start = X, 0
        last = len(self.sizes) - 2
        for layer, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:],
                                                      strict=True)):
            W = params[start:start + fan_in * fan_out].reshape(fan_in, fan_out)
            start += fan_in * fan_out
            a = a @ W + params[start:start + fan_out]
            start += fan_out
            if layer < last:
                a = phi(a)
        return a[:, 0] if self.task == "regression" else a


class MatmulMLP(MLP):
    """An :class:`~gdlab.problems.MLP` whose loss uses matrix products (see the module).

    Runs vmapped together no longer equal single runs bit for bit (a batched matrix
    product rounds differently); everything else is the MLP's.
    """

    @property
    def loss_fn(self):
        return MatmulMLPLoss(self.sizes, self.activation, self.task)


def matmul_mlp(problem: MLP) -> MatmulMLP:
    """The same network, data and start as ``problem`` with a matrix-product loss.

    Examples:
        >>> import gdlab
        >>> net = gdlab.mlp([[0.0, 1.0], [1.0, 0.0]], [0, 1], hidden=(3,))
        >>> fast = matmul_mlp(net)
        >>> type(fast).__name__, fast.sizes, fast.layout == net.layout
        ('MatmulMLP', (2, 3, 2), True)
    """
    if not isinstance(problem, MLP):
        raise InvalidParameterError("problem", "an MLP (gdlab.mlp or gdlab.problem('mlp'))",
                                    type(problem).__name__)
    return MatmulMLP(**{f.name: getattr(problem, f.name) for f in fields(problem)})


def digits_value_mlp(*, num_examples: int = 500, hidden=(32,), activation: str = "tanh",
                     seed: int = 0) -> MatmulMLP:
    """The demonstration's problem: an MLP regressing the digit's standardised value on
    the first ``num_examples`` training rows of digits (features standardised on the
    training rows, split seed 0), initialised with ``seed``, in matrix-product form."""
    from gdlab.datasets import load
    from gdlab.problems import mlp

    digits = load("digits", standardize=True, test_fraction=0.25, seed=0)
    available = digits.X_train.shape[0]
    num_examples = check_int("num_examples", num_examples, low=2, high=available)
    X = digits.X_train[:num_examples]
    value = np.asarray(digits.y_train[:num_examples], dtype=np.float64)
    target = (value - value.mean()) / value.std()
    net = mlp(X, target, hidden=hidden, activation=activation, seed=seed,
              task="regression", name=f"digits-value-mlp-{num_examples}")
    return matmul_mlp(net)


def edge_of_stability_demo(*, learning_rates=(0.1,), num_steps: int = 2000,
                           every: int = 20, num_examples: int = 500, hidden=(32,),
                           activation: str = "tanh", seed: int = 0,
                           max_iter: int = 60, rtol: float = 1e-7) -> list[SharpnessTrace]:
    r"""Full-batch gradient descent on the digits MLP, its sharpness every ``every`` steps.

    The runs of all ``learning_rates`` share one compiled program
    (:func:`gdlab.run_many`), their sharpness another (:func:`sharpness_along`). With
    the defaults (one rate, 0.1) it takes about 10-20 s on two CPU cores, compilation
    included; see the module docstring for the setting and what to expect.

    Args:
        learning_rates: :math:`\eta > 0` of each run (their thresholds are
            :math:`2/\eta`).
        num_steps: gradient-descent steps, ``>= every``.
        every: steps between sharpness evaluations, ``>= 1``.
        num_examples: training rows of digits used, in ``[2, 1347]``.
        hidden, activation, seed: the network (:func:`gdlab.mlp`'s arguments).
        max_iter, rtol: the Lanczos stopping rule
            (:func:`~gdlab.sharpness.sharpness`); a figure needs far less than the
            default ``rtol``.

    Returns:
        One :class:`SharpnessTrace` per learning rate, the loss recorded at every step.
    """
    from gdlab.engine import run_many
    from gdlab.optimizers import optimizer

    rates = np.atleast_1d(np.asarray(learning_rates, dtype=np.float64))
    if rates.ndim != 1 or rates.size == 0:
        raise InvalidParameterError("learning_rates", "a non-empty sequence of floats",
                                    learning_rates)
    rates = [check_float("learning_rates", r, low=0.0) for r in rates]
    num_steps = check_int("num_steps", num_steps, low=1)
    every = check_int("every", every, low=1, high=num_steps)
    problem = digits_value_mlp(num_examples=num_examples, hidden=hidden,
                               activation=activation, seed=seed)
    runs = run_many(problem, optimizer("sgd", learning_rate=rates[0]),
                    [{"learning_rate": r} for r in rates], num_steps=num_steps,
                    sampling="full", record_every=1)
    return [sharpness_along(problem, run, optimizer=optimizer("sgd", learning_rate=r),
                            every=every, max_iter=max_iter, rtol=rtol)
            for r, run in zip(rates, runs, strict=True)]
