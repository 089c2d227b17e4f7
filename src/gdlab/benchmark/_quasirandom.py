r"""Quasi-random points in the unit cube: the Halton sequence, plain or scrambled.

Random search spends trials unevenly: with 5 uniform draws in 2 dimensions, some
regions get two trials and others none. A low-discrepancy sequence fills the cube
evenly for every prefix, which is why AlgoPerf samples its tuning trials
quasi-randomly (Bousquet et al. 2017).

**Halton.** Write the index :math:`i = \sum_j a_j b^j` in base :math:`b`; its *radical
inverse* mirrors the digits about the point,
:math:`\phi_b(i) = \sum_j a_j\, b^{-(j+1)}`. The Halton point :math:`i` in :math:`d`
dimensions is :math:`(\phi_{p_1}(i), \dots, \phi_{p_d}(i))` with the first :math:`d`
primes :math:`p_k` as bases; in one dimension (base 2) it is van der Corput's sequence
:math:`0, \tfrac12, \tfrac14, \tfrac34, \tfrac18, \dots`

**Scrambling** (random digit permutations, Matoušek 1998): digit position :math:`j` of
base :math:`b` gets its own random permutation :math:`\pi_{b,j}` of
:math:`\{0, \dots, b-1\}`, and :math:`\phi^\pi_b(i) = \sum_j \pi_{b,j}(a_j)\, b^{-(j+1)}`
(over enough positions to reach double precision). Every prefix of :math:`b^m` points
still puts exactly one point in each interval :math:`[k b^{-m}, (k+1) b^{-m})` of a
coordinate, so the evenness survives, while the seed makes the points random: distinct
seeds give distinct, equally even designs, and the origin (the plain sequence's first
point) is no longer special.

**Discrepancy.** The :math:`L_2`-star discrepancy of points :math:`x_1..x_N` in
:math:`[0,1)^d` has Warnock's closed form

.. math::

    T_N^2 = 3^{-d} - \frac{2^{1-d}}{N}\sum_i \prod_k (1 - x_{ik}^2)
        + \frac1{N^2}\sum_{i,j}\prod_k \bigl(1 - \max(x_{ik}, x_{jk})\bigr),

and for :math:`N` independent uniform points
:math:`\mathbb E[T_N^2] = (2^{-d} - 3^{-d})/N`: a quasi-random design beats that
expectation, by a factor growing with :math:`N`.

References:
    Halton, On the efficiency of certain quasi-random sequences of points in evaluating
    multi-dimensional integrals, Numerische Mathematik 2, 1960.
    Matoušek, On the L2-discrepancy for anchored boxes, J. Complexity 14, 1998.
    Warnock, Computational investigations of low-discrepancy point sets, 1972.
    Bousquet, Gelly, Kurach, Teytaud & Vincent, Critical hyper-parameters: no random, no
    cry, arXiv:1706.03200, 2017.
"""

from __future__ import annotations

import math

import numpy as np

from gdlab._validation import InvalidParameterError, check_int

MAX_DIMENSION = 32


def primes(count: int) -> list[int]:
    """The first ``count`` primes (trial division: ``count`` is a dimension, small)."""
    found: list[int] = []
    candidate = 2
    while len(found) < count:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
        candidate += 1
    return found


def _digits(indices: np.ndarray, base: int, positions: int) -> np.ndarray:
    """Base-``base`` digits of ``indices``, least significant first: ``(n, positions)``."""
    digits = np.empty((len(indices), positions), np.int64)
    rest = indices.copy()
    for j in range(positions):
        digits[:, j] = rest % base
        rest //= base
    return digits


def radical_inverse(indices, base: int, permutations: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\phi_b(i)` for each index (or :math:`\phi^\pi_b(i)` with ``permutations``,
    an array ``(positions, base)`` whose row ``j`` permutes digit position ``j``).

    Examples:
        >>> radical_inverse([0, 1, 2, 3, 4, 5], 2).tolist()
        [0.0, 0.5, 0.25, 0.75, 0.125, 0.625]
    """
    indices = np.asarray(indices, np.int64)
    if permutations is None:
        top = int(indices.max()) if indices.size else 0
        positions = max(1, math.ceil(math.log(top + 1, base)) + 1)
    else:
        positions = permutations.shape[0]
    digits = _digits(indices, base, positions)
    if permutations is not None:
        digits = permutations[np.arange(positions)[None, :], digits]
    # the least significant digit of i is the most significant of phi(i): sum from the
    # far end so that small terms are added first (the same rounding for every index)
    weights = float(base) ** -(np.arange(positions) + 1.0)
    value = np.zeros(len(indices))
    for j in range(positions - 1, -1, -1):
        value += digits[:, j] * weights[j]
    return value


def halton(num_points: int, dim: int, *, seed: int | None = None, skip: int = 0) -> np.ndarray:
    """Points ``skip .. skip + num_points - 1`` of the ``dim``-dimensional Halton sequence.

    Args:
        num_points: how many points, at least 1.
        dim: the dimension, in ``[1, 32]``.
        seed: ``None`` for the plain sequence (its first point is the origin); an int in
            ``[0, 2**32 - 1]`` scrambles it with random digit permutations drawn from
            NumPy's generator seeded by it (the same seed, the same points).
        skip: index of the first point.

    Returns:
        An array ``(num_points, dim)`` in ``[0, 1)``.

    Examples:
        >>> halton(4, 2).round(4).tolist()
        [[0.0, 0.0], [0.5, 0.3333], [0.25, 0.6667], [0.75, 0.1111]]
        >>> bool((halton(8, 3, seed=1) == halton(8, 3, seed=1)).all())
        True
    """
    num_points = check_int("num_points", num_points, low=1, high=10**7)
    dim = check_int("dim", dim, low=1, high=MAX_DIMENSION)
    skip = check_int("skip", skip, low=0, high=10**9)
    if seed is not None:
        seed = check_int("seed", seed, low=0, high=2**32 - 1)
    indices = np.arange(skip, skip + num_points, dtype=np.int64)
    rng = None if seed is None else np.random.default_rng(seed)
    columns = []
    for base in primes(dim):
        permutations = None
        if rng is not None:
            # enough digit positions that b**-positions is below double precision's step
            positions = math.ceil(53 * math.log(2) / math.log(base))
            permutations = np.stack([rng.permutation(base) for _ in range(positions)])
        columns.append(radical_inverse(indices, base, permutations))
    return np.stack(columns, axis=1)


def l2_star_discrepancy(points) -> float:
    r"""The :math:`L_2`-star discrepancy :math:`T_N` of ``points`` ``(N, d)`` in
    :math:`[0,1)^d`, by Warnock's formula (module docstring); :math:`O(N^2 d)`.

    Examples:
        >>> round(l2_star_discrepancy([[0.5]]), 6)  # sqrt(1/3 - 3/4 + 1/2)
        0.288675
    """
    x = np.asarray(points, np.float64)
    if x.ndim != 2 or not x.size or np.any((x < 0) | (x > 1)):
        raise InvalidParameterError("points", "an array (N, d) of numbers in [0, 1]",
                                    f"an array of shape {x.shape}")
    n, d = x.shape
    first = 3.0 ** -d
    second = 2.0 ** (1 - d) / n * np.sum(np.prod(1 - x**2, axis=1))
    pair = np.prod(1 - np.maximum(x[:, None, :], x[None, :, :]), axis=2)
    third = np.sum(pair) / n**2
    return float(math.sqrt(max(first - second + third, 0.0)))


def expected_random_l2_star(num_points: int, dim: int) -> float:
    r""":math:`\sqrt{\mathbb E[T_N^2]} = \sqrt{(2^{-d} - 3^{-d})/N}` for ``num_points``
    independent uniform points: the bar a quasi-random design should beat."""
    return math.sqrt((2.0 ** -dim - 3.0 ** -dim) / num_points)


__all__ = ["expected_random_l2_star", "halton", "l2_star_discrepancy", "primes",
           "radical_inverse"]
