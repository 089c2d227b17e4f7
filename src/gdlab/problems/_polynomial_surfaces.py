r"""The polynomial test surfaces: Beale, Himmelblau, Booth, Matyas, Goldstein-Price and
the six-hump camel (the contract is in :mod:`._surfaces`).

None of them has coefficients to set (an empty ``coefficients`` array). Where the literature
publishes rounded minimizers (the six-hump camel; Himmelblau's three irrational ones),
:meth:`~._surfaces.Surface.minimizers` returns them polished by Newton's method to
float64 precision, so that the gradient vanishes there; the published digits are in the
docstrings.
"""

from __future__ import annotations

import numpy as np

from gdlab.problems._surfaces import Surface, _surface

# --- Polynomial surfaces ---------------------------------------------------------------

def beale_value(params, coefficients):
    """Beale's function; it has no coefficients (``coefficients`` is empty)."""
    x, y = params[0], params[1]
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
            + (2.625 - x + x * y ** 3) ** 2)


def beale_loss(params, batch, constants):
    return beale_value(params, constants["coefficients"])


def beale(*, init=(1.0, 1.0)) -> Surface:
    r"""Beale's function (1958), 2-D, from ``(1, 1)``.

    .. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Domain :math:`[-4.5, 4.5]^2`; global minimum :math:`f(3, 0.5) = 0`
    (https://www.sfu.ca/~ssurjano/beale.html). Flat plateaus and sharp ridges near the
    corners of the domain.
    """
    return _surface("beale", [], init, beale_loss, [[3.0, 0.5]], 0.0,
                    ((-4.5, 4.5), (-4.5, 4.5)),
                    "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2", "Beale")


def himmelblau_value(params, coefficients):
    """Himmelblau's function; it has no coefficients."""
    x, y = params[0], params[1]
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


def himmelblau_loss(params, batch, constants):
    return himmelblau_value(params, constants["coefficients"])


def _himmelblau_hessian(params, coefficients):
    x, y = params
    return np.array([[12 * x * x + 4 * y - 42, 4 * x + 4 * y],
                     [4 * x + 4 * y, 4 * x + 12 * y * y - 26]])


HIMMELBLAU_MINIMIZERS = np.array([
    [3.0, 2.0],
    [-2.805118086952745, 3.131312518250573],
    [-3.779310253377747, -3.2831859912861696],
    [3.5844283403304917, -1.8481265269644034],
])
"""Himmelblau's four minimizers: the published 6 digits polished by Newton's method."""


def himmelblau(*, init=(0.0, 0.0)) -> Surface:
    r"""Himmelblau's function (Himmelblau 1972, *Applied Nonlinear Programming*), 2-D.

    .. math:: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2

    Four global minima, all :math:`f = 0`, at :math:`(3, 2)`, :math:`(-2.805118,
    3.131312)`, :math:`(-3.779310, -3.283186)` and :math:`(3.584428, -1.848126)`; a local
    maximum near :math:`(-0.270845, -0.923039)`. It is not in Surjanovic & Bingham's
    library; the values are the literature's (e.g. the Wikipedia article "Himmelblau's
    function"). Plotting box :math:`[-5, 5]^2`; the start ``(0, 0)`` lies in the basin of
    :math:`(3, 2)` for gradient descent.
    """
    return _surface("himmelblau", [], init, himmelblau_loss, HIMMELBLAU_MINIMIZERS, 0.0,
                    ((-5.0, 5.0), (-5.0, 5.0)), "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
                    "Himmelblau", _himmelblau_hessian)


def booth_value(params, coefficients):
    """Booth's function; it has no coefficients."""
    x, y = params[0], params[1]
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def booth_loss(params, batch, constants):
    return booth_value(params, constants["coefficients"])


def _booth_hessian(params, coefficients):
    return np.array([[10.0, 8.0], [8.0, 10.0]])


def booth(*, init=(-6.0, -6.0)) -> Surface:
    r"""Booth's function, 2-D: a convex quadratic (Hessian eigenvalues 2 and 18).

    .. math:: f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2

    Domain :math:`[-10, 10]^2`; global minimum :math:`f(1, 3) = 0`
    (https://www.sfu.ca/~ssurjano/booth.html).
    """
    return _surface("booth", [], init, booth_loss, [[1.0, 3.0]], 0.0,
                    ((-10.0, 10.0), (-10.0, 10.0)), "(x + 2y - 7)^2 + (2x + y - 5)^2",
                    "Booth", _booth_hessian)


def matyas_value(params, coefficients):
    """Matyas's function; it has no coefficients."""
    x, y = params[0], params[1]
    return 0.26 * (x ** 2 + y ** 2) - 0.48 * x * y


def matyas_loss(params, batch, constants):
    return matyas_value(params, constants["coefficients"])


def _matyas_hessian(params, coefficients):
    return np.array([[0.52, -0.48], [-0.48, 0.52]])


def matyas(*, init=(8.0, 3.0)) -> Surface:
    r"""Matyas's function, 2-D: a convex quadratic along a flat diagonal (eigenvalues
    0.04 and 1, condition number 25).

    .. math:: f(x, y) = 0.26\,(x^2 + y^2) - 0.48\,xy

    Domain :math:`[-10, 10]^2`; global minimum :math:`f(0, 0) = 0`
    (https://www.sfu.ca/~ssurjano/matya.html).
    """
    return _surface("matyas", [], init, matyas_loss, [[0.0, 0.0]], 0.0,
                    ((-10.0, 10.0), (-10.0, 10.0)), "0.26 (x^2 + y^2) - 0.48 xy", "Matyas",
                    _matyas_hessian)


def goldstein_price_value(params, coefficients):
    """The Goldstein-Price function; it has no coefficients."""
    x, y = params[0], params[1]
    first = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x ** 2 - 14 * y + 6 * x * y + 3 * y ** 2)
    second = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x ** 2 + 48 * y - 36 * x * y
                                          + 27 * y ** 2)
    return first * second


def goldstein_price_loss(params, batch, constants):
    return goldstein_price_value(params, constants["coefficients"])


def goldstein_price(*, init=(0.5, -1.5)) -> Surface:
    r"""The Goldstein-Price function (1971), 2-D, with values up to about :math:`10^6`.

    .. math::
        f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]
        \left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]

    Domain :math:`[-2, 2]^2`; global minimum :math:`f(0, -1) = 3`, with several local
    minima (https://www.sfu.ca/~ssurjano/goldpr.html).
    """
    return _surface("goldstein_price", [], init, goldstein_price_loss, [[0.0, -1.0]], 3.0,
                    ((-2.0, 2.0), (-2.0, 2.0)),
                    "[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)] [30 + (2x - 3y)^2 "
                    "(18 - 32x + 12x^2 + 48y - 36xy + 27y^2)]", "Goldstein-Price")


def six_hump_camel_value(params, coefficients):
    """The six-hump camel function; it has no coefficients."""
    x, y = params[0], params[1]
    return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2


def six_hump_camel_loss(params, batch, constants):
    return six_hump_camel_value(params, constants["coefficients"])


def _six_hump_camel_hessian(params, coefficients):
    x, y = params
    return np.array([[8 - 25.2 * x ** 2 + 10 * x ** 4, 1.0], [1.0, -8 + 48 * y ** 2]])


SIX_HUMP_CAMEL_MINIMIZERS = np.array([[0.08984201310031807, -0.7126564030207396],
                                      [-0.08984201310031807, 0.7126564030207396]])
"""The published (0.0898, -0.7126) and (-0.0898, 0.7126), polished by Newton's method."""
SIX_HUMP_CAMEL_MINIMUM = -1.0316284534898774
"""The value at :data:`SIX_HUMP_CAMEL_MINIMIZERS` (published: -1.0316)."""


def six_hump_camel(*, init=(-1.0, -1.0)) -> Surface:
    r"""The six-hump camel function, 2-D: six local minima, two of them global.

    .. math:: f(x, y) = \left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + (-4 + 4y^2)\,y^2

    Domain :math:`x \in [-3, 3], y \in [-2, 2]`; global minimum :math:`f = -1.0316` at
    :math:`(0.0898, -0.7126)` and :math:`(-0.0898, 0.7126)`
    (https://www.sfu.ca/~ssurjano/camel6.html). Adam from the default start ``(-1, -1)``
    reaches the first of them.
    """
    return _surface("six_hump_camel", [], init, six_hump_camel_loss,
                    SIX_HUMP_CAMEL_MINIMIZERS, SIX_HUMP_CAMEL_MINIMUM,
                    ((-3.0, 3.0), (-2.0, 2.0)), "(4 - 2.1x^2 + x^4/3) x^2 + xy + (-4 + 4y^2) y^2",
                    "six-hump camel", _six_hump_camel_hessian)
