r"""Sharpness: the top Hessian eigenvalue along a run, and the edge of stability.

The *sharpness* :math:`\lambda_{\max}(\nabla^2 L(\theta))` decides whether gradient
descent at learning rate :math:`\eta` is stable near :math:`\theta`: on the quadratic
model of the loss there, :math:`\theta \leftarrow \theta - \eta\nabla L` multiplies the
component along the top eigenvector by :math:`1 - \eta\lambda_{\max}`, which stays
inside :math:`(-1, 1)` if and only if :math:`\lambda_{\max} < 2/\eta`. Cohen et al.
(2021) found that full-batch gradient descent on neural networks drives the sharpness up
to :math:`2/\eta` and then keeps it there ("the edge of stability"); for Adam the same
holds for the preconditioned sharpness against :math:`(2+2\beta_1)/((1-\beta_1)\eta)`
(Cohen et al. 2022).

- :func:`sharpness` at one point, :func:`hessian_vector_product`: Lanczos's method on
  forward-over-reverse Hessian-vector products, never forming the Hessian;
- :func:`sharpness_along` a recorded run (compiled, vmapped over records) giving a
  :class:`SharpnessTrace`, :func:`run_with_internals` to record Adam's state on a
  network;
- :func:`adam_preconditioner` (Cohen et al.'s :math:`P_t`), :func:`stability_threshold`
  of gradient descent, heavy ball, Nesterov and Adam;
- :func:`edge_of_stability_demo`: the phenomenon on a digits MLP in seconds
  (``docs/sharpness.md``, ``docs/edge_of_stability.py``).

Examples:
    >>> import gdlab
    >>> from gdlab import sharpness as sh
    >>> bowl = gdlab.quadratic(kappa=10.0, dim=3)   # eigenvalues 1, 0.316, 0.1
    >>> estimate = sh.sharpness(bowl, bowl.init_params)
    >>> round(estimate.value, 12), estimate.iterations, estimate.converged
    (1.0, 3, True)

References:
    J. M. Cohen, S. Kaur, Y. Li, J. Z. Kolter, A. Talwalkar, "Gradient Descent on Neural
    Networks Typically Occurs at the Edge of Stability", ICLR 2021, arXiv:2103.00065.
    J. M. Cohen, B. Ghorbani, S. Krishnan, N. Agarwal, S. Medapati, M. Badura, D. Suo,
    D. Cardoze, Z. Nado, G. E. Dahl, J. Gilmer, "Adaptive Gradient Methods at the Edge of
    Stability", 2022, arXiv:2207.14484.
"""

from gdlab.sharpness._demo import (
    MatmulMLP,
    digits_value_mlp,
    edge_of_stability_demo,
    matmul_mlp,
)
from gdlab.sharpness._hessian import (
    DEFAULT_MAX_ITER,
    DEFAULT_RTOL,
    SharpnessEstimate,
    hessian_vector_product,
    sharpness,
)
from gdlab.sharpness._lanczos import EigenEstimate, lanczos_top, start_vector
from gdlab.sharpness._thresholds import (
    THRESHOLD_OPTIMIZERS,
    Threshold,
    adam_preconditioner,
    stability_threshold,
)
from gdlab.sharpness._trace import SharpnessTrace, run_with_internals, sharpness_along

__all__ = [
    "DEFAULT_MAX_ITER",
    "DEFAULT_RTOL",
    "THRESHOLD_OPTIMIZERS",
    "EigenEstimate",
    "MatmulMLP",
    "SharpnessEstimate",
    "SharpnessTrace",
    "Threshold",
    "adam_preconditioner",
    "digits_value_mlp",
    "edge_of_stability_demo",
    "hessian_vector_product",
    "lanczos_top",
    "matmul_mlp",
    "run_with_internals",
    "sharpness",
    "sharpness_along",
    "stability_threshold",
    "start_vector",
]
