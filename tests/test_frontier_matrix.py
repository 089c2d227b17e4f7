"""Muon, Adafactor and Shampoo: golden sequences from torch 2.13.0 and optax
(``tests/golden/optimizers_matrix.json``, written by ``tests/golden/generate_matrix.py``),
Newton-Schulz's orthogonality, Shampoo against a NumPy transcription of its paper, the
engine's layout, and the errors."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import engine
from gdlab import schedules as S
from gdlab.optimizers import adafactor, muon, shampoo
from gdlab.optimizers._matrix import NS_COEFFICIENTS, newton_schulz

GOLDEN = json.loads((Path(__file__).parent / "golden" / "optimizers_matrix.json").read_text())


def _layout(settings):
    return tuple((name, tuple(shape)) for name, shape in settings["layout"])


def _spec(case):
    """The case's gdlab optimizer; a constant rate is exponential(lr, 1): the same program
    as the decaying one, so one compiled, vmapped program runs both."""
    schedule = case["schedule"]
    settings = {**case["settings"], "layout": _layout(case["settings"])}
    return gdlab.optimizer(case["optimizer"], **settings,
                           learning_rate=S.exponential(schedule["lr"], schedule["rate"]))


def _run(optimizer, gradients, theta0):
    def step(carry, g):
        theta, state = carry
        updates, state = optimizer.update(g, state, theta)
        return (theta + updates, state), theta + updates

    theta0 = jnp.asarray(theta0)
    _, thetas = jax.lax.scan(step, (theta0, optimizer.init(theta0)), jnp.asarray(gradients))
    return thetas


def _run_cases(cases):
    """Every case of one static structure in one compiled program, vmapped over the
    hyperparameters (data, as in the engine)."""
    return _run_specs([_spec(case) for case in cases], GOLDEN["gradients"])


def _run_specs(specs, gradients):
    rows = [spec.hyperparams for spec in specs]
    leaves = [jnp.asarray(np.array(column)) for column in
              zip(*(jax.tree_util.tree_leaves(row) for row in rows), strict=True)]
    tree = jax.tree_util.tree_structure(rows[0])
    static = dict(specs[0].static)

    def one(leaves):
        optimizer = specs[0].factory(**static, **jax.tree_util.tree_unflatten(tree, leaves))
        return _run(optimizer, gradients, GOLDEN["theta0"])

    return np.asarray(jax.jit(jax.vmap(one))(leaves))


SHIPPED = "bfloat16 Newton-Schulz as shipped"
GROUPS = {}
for _case in GOLDEN["cases"]:
    if SHIPPED not in _case["call"]:
        _key = f"{_case['library']}:{_case['call'].split(', lr_t')[0]}"
        GROUPS.setdefault(_key, []).append(_case)


@pytest.mark.parametrize("key", sorted(GROUPS))
def test_matches_the_library_step_by_step(key):
    cases = GROUPS[key]
    assert len(cases) == 2 and {c["schedule"]["rate"] == 1.0 for c in cases} == {True, False}
    for case, got in zip(cases, _run_cases(cases), strict=True):
        # optax's adafactor computes its decay 1 - t^(-c) in float32 (t = jnp.array(count
        # + 1, jnp.float32)): ~3e-8 relative error in beta2_t moves the parameters by up to
        # 7e-9 (measured); test_optax_adafactor_differs_by_its_float32_decay_only pins it
        float32_decay = case["library"] == "optax" and case["optimizer"] == "adafactor"
        np.testing.assert_allclose(got, case["params"], rtol=1e-10,
                                   atol=2e-8 if float32_decay else 1e-13, err_msg=case["call"])


def test_torch_muon_as_shipped_differs_by_its_bfloat16_iteration_only():
    """torch runs Newton-Schulz in bfloat16 (8 bits of mantissa): its steps differ from
    the float64 ones by a few parts in 100 of a step, never by more."""
    shipped = next(c for c in GOLDEN["cases"] if SHIPPED in c["call"])
    exact = next(c for c in GOLDEN["cases"] if c["call"] == "Muon() + AdamW()")
    ours = np.asarray(exact["params"])
    theirs = np.asarray(shipped["params"])
    step_ours = np.diff(np.vstack([GOLDEN["theta0"], ours]), axis=0)[:, :22]
    step_theirs = np.diff(np.vstack([GOLDEN["theta0"], theirs]), axis=0)[:, :22]
    relative = np.linalg.norm(step_ours - step_theirs, axis=1) / np.linalg.norm(step_ours, axis=1)
    assert 1e-4 < np.median(relative) < 0.05, np.median(relative)
    np.testing.assert_array_equal(ours[:, 22:], theirs[:, 22:])  # AdamW's block: no cast


def test_the_conventions_differ_where_documented():
    by_call = {(c["library"], c["call"]): np.array(c["params"]) for c in GOLDEN["cases"]}
    torch_muon = by_call[("torch", "Muon() + AdamW()")]
    optax_muon = by_call[("optax", "contrib.muon()")]
    assert np.max(np.abs(torch_muon - optax_muon)) > 1e-3  # decay 0.1 vs 0, bias correction


# Newton-Schulz ----------------------------------------------------------------------------

def _quintic(x, steps=5):
    a, b, c = NS_COEFFICIENTS
    for _ in range(steps):
        x = a * x + b * x**3 + c * x**5
    return x


def test_newton_schulz_acts_on_the_singular_values_by_the_quintic():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((7, 4))
    U, sigma, Vt = np.linalg.svd(G, full_matrices=False)
    ortho = np.asarray(jax.jit(newton_schulz, static_argnums=(1, 2))(
        jnp.asarray(G), 5, NS_COEFFICIENTS, 0.0))
    expected = U @ np.diag(_quintic(sigma / np.linalg.norm(G))) @ Vt
    np.testing.assert_allclose(ortho, expected, rtol=1e-11, atol=1e-13)


def test_muon_update_on_a_matrix_block_is_orthogonal_to_the_stated_tolerance():
    """The quintic does not converge to 1: after its 5 steps every singular value of
    X_0 = G/|G|_F in [2e-3, 1] lands in [0.6818, 1.2024] (measured on a grid of 2e5
    points; below 2e-3 the gain a^5 = 487 no longer lifts it, 1e-3 -> 0.47). So the
    stated tolerance is |s - 1| <= 0.32 for the update's singular values. The classic
    cubic (a, b, c) = (1.5, -0.5, 0) does converge: 30 steps reach 1 to 1e-12."""
    grid = np.geomspace(2e-3, 1.0, 200001)
    band = _quintic(grid)
    assert 0.6818 < band.min() and band.max() < 1.2024
    assert _quintic(np.array([1e-3]))[0] < 0.48
    rng = np.random.default_rng(1)
    layout = (("W", (6, 9)), ("b", (9,)))
    opt = muon(learning_rate=1.0, weight_decay=0.0, momentum=0.0, nesterov=False,
                     layout=layout)
    theta = jnp.zeros(63)
    # a gradient whose singular values span 1..1e-2 (above 2e-3 after the Frobenius
    # normalisation): the update's singular values must lie in the band
    U, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    V, _ = np.linalg.qr(rng.standard_normal((9, 6)))
    G = U @ np.diag(np.geomspace(1.0, 1e-2, 6)) @ V.T
    g = jnp.concatenate([jnp.asarray(G.reshape(-1)), jnp.ones(9)])
    u, _ = jax.jit(opt.update)(g, opt.init(theta), theta)
    s = np.linalg.svd(-np.asarray(u[:54]).reshape(6, 9), compute_uv=False)
    assert np.all((s > 0.6818) & (s < 1.2024)), s
    # the cubic iteration X <- 1.5 X - 0.5 X X^T X converges to the polar factor: 30 steps
    cubic = np.asarray(jax.jit(newton_schulz, static_argnums=(1, 2))(
        jnp.asarray(G), 30, (1.5, -0.5, 0.0)))
    np.testing.assert_allclose(np.linalg.svd(cubic, compute_uv=False), 1.0, atol=1e-12)
    np.testing.assert_allclose(cubic, U @ V.T, atol=1e-12)


# Shampoo against the paper ----------------------------------------------------------------

def _matrix_power(S, p):
    lam, Q = np.linalg.eigh(S)
    return Q @ np.diag(lam**p) @ Q.T


def _shampoo_reference(theta0, gradients, layout, etas, eps):
    """Gupta, Koren & Singer 2018, Algorithm 1 per matrix block (L_0 = eps I_m,
    R_0 = eps I_n; L_t = L_{t-1} + G G^T; R_t = R_{t-1} + G^T G;
    W_{t+1} = W_t - eta_t L_t^{-1/4} G_t R_t^{-1/4}); the other blocks diagonal
    (H_0 = eps, H_t = H_{t-1} + g^2, w -= eta_t H_t^{-1/2} g), as gdlab documents."""
    theta = np.array(theta0, dtype=np.float64)
    stats = {}
    out = []
    for g, eta in zip(gradients, etas, strict=True):
        start = 0
        new = theta.copy()
        for name, shape in layout:
            size = int(np.prod(shape))
            piece = slice(start, start + size)
            if len(shape) == 2:
                m, n = shape
                L, R = stats.get(name, (eps * np.eye(m), eps * np.eye(n)))
                G = g[piece].reshape(shape)
                L = L + G @ G.T
                R = R + G.T @ G
                stats[name] = (L, R)
                W = theta[piece].reshape(shape)
                new[piece] = (W - eta * _matrix_power(L, -0.25) @ G
                              @ _matrix_power(R, -0.25)).reshape(-1)
            else:
                H = stats.get(name, np.full(size, eps)) + g[piece] ** 2
                stats[name] = H
                new[piece] = theta[piece] - eta * g[piece] / np.sqrt(H)
            start += size
        theta = new
        out.append(theta.copy())
    return np.array(out)


def test_shampoo_follows_its_papers_pseudocode():
    layout = _layout(GOLDEN["cases"][0]["settings"])
    gradients = np.asarray(GOLDEN["gradients"])
    settings = [(0.1, 1e-4, 1.0), (0.5, 1e-2, 0.95)]  # eta, eps, decay of eta per step
    got = _run_specs([gdlab.optimizer("shampoo", learning_rate=S.exponential(eta, rate),
                                      eps=eps, layout=layout) for eta, eps, rate in settings],
                     gradients)
    for (eta, eps, rate), ours in zip(settings, got, strict=True):
        etas = [eta * rate**t for t in range(len(gradients))]
        expected = _shampoo_reference(GOLDEN["theta0"], gradients, layout, etas, eps)
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-13)


# Adafactor against the paper --------------------------------------------------------------

def _adafactor_reference(theta0, gradients, layout, rho, decay):
    """Shazeer & Stern 2018, Algorithm 4 (factored) for the matrix blocks and Algorithm 5
    for the others, with eps1 = 1e-30 added to G^2 (as optax does), eps2 = 1e-3, d = 1,
    a constant relative step rho and beta2_t = decay(t)."""
    eps1, eps2, d = 1e-30, 1e-3, 1.0
    theta = np.array(theta0, dtype=np.float64)
    stats, out = {}, []
    for t, g in enumerate(gradients, start=1):
        beta2 = decay(t)
        start, new = 0, theta.copy()
        for name, shape in layout:
            size = int(np.prod(shape))
            piece = slice(start, start + size)
            X, G = theta[piece].reshape(shape), g[piece].reshape(shape)
            alpha = max(eps2, np.sqrt(np.mean(X**2))) * rho
            if len(shape) == 2:
                n, m = shape
                R, C = stats.get(name, (np.zeros(n), np.zeros(m)))
                R = beta2 * R + (1 - beta2) * (G**2 + eps1) @ np.ones(m)
                C = beta2 * C + (1 - beta2) * np.ones(n) @ (G**2 + eps1)
                stats[name] = (R, C)
                V = np.outer(R, C) / (np.ones(n) @ R)
            else:
                V = beta2 * stats.get(name, np.zeros(shape)) + (1 - beta2) * (G**2 + eps1)
                stats[name] = V
            U = G / np.sqrt(V)
            U_hat = U / max(1.0, np.sqrt(np.mean(U**2)) / d)
            new[piece] = (X - alpha * U_hat).reshape(-1)
            start += size
        theta = new
        out.append(theta.copy())
    return np.array(out)


def test_optax_adafactor_differs_by_its_float32_decay_only():
    case = next(c for c in GOLDEN["cases"]
                if c["call"] == "adafactor(min_dim_size_to_factor=2)")
    layout = _layout(case["settings"])
    gradients = np.asarray(GOLDEN["gradients"])

    def float32_decay(t):  # optax: 1 - jnp.array(t, float32) ** -0.8, in float32
        return float(1.0 - np.float32(t) ** np.float32(-0.8))

    paper = _adafactor_reference(GOLDEN["theta0"], gradients, layout, 0.02,
                                 lambda t: 1.0 - t**-0.8)
    as_optax = _adafactor_reference(GOLDEN["theta0"], gradients, layout, 0.02,
                                    float32_decay)
    np.testing.assert_allclose(as_optax, case["params"], rtol=1e-10, atol=1e-13)
    ours = _run_cases([case])[0]
    np.testing.assert_allclose(ours, paper, rtol=1e-10, atol=1e-13)
    assert np.max(np.abs(paper - as_optax)) > 1e-9  # the rounding the tolerance allows for


# the engine's layout, jit and vmap on matrix blocks, errors ---------------------------------

@pytest.fixture(scope="module")
def iris():
    return gdlab.problem("softmax")  # iris: W (4, 3), b (3,)


@pytest.mark.parametrize("name", ["muon", "adafactor", "shampoo"])
def test_the_engine_passes_the_layout_and_a_vmapped_grid_equals_single_runs(name, iris):
    """The registry contract tests run these on problems without matrices (only the
    fallback); here on softmax regression's W (4, 3) and b (3,)."""
    rates = [0.01, 0.03]
    runs = gdlab.run_many(iris, name, [{"learning_rate": r} for r in rates], num_steps=20)
    size = engine._simulate_batch._cache_size()
    gdlab.run_many(iris, name, [{"learning_rate": r * 0.5} for r in rates], num_steps=20)
    assert engine._simulate_batch._cache_size() == size  # new values, same program
    # the layout given by hand is the one the engine supplied
    spec = gdlab.optimizer(name, learning_rate=rates[1], layout=iris.layout)
    alone = gdlab.run(iris, spec, num_steps=20)
    # (without the layout the matrix block would take the 1-D rule: the golden cases
    # show the two differ)
    np.testing.assert_allclose(runs[1].params, alone.params, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("factory, kwargs, parameter", [
    (muon, {"momentum": 1.0}, "momentum"), (muon, {"ns_steps": 0}, "ns_steps"),
    (muon, {"weight_decay": -0.1}, "weight_decay"), (muon, {"eps": 0.0}, "eps"),
    (muon, {"consistent_rms": 0.0}, "consistent_rms"), (muon, {"adam_b2": 1.0}, "adam_b2"),
    (muon, {"convention": "keras"}, "convention"), (muon, {"layout": [("W", (2, -1))]}, "layout"),
    (adafactor, {"clipping_threshold": 0.5}, "clipping_threshold"),
    (adafactor, {"decay_rate": -0.8}, "decay_rate"), (adafactor, {"eps2": -1.0}, "eps2"),
    (adafactor, {"momentum": 0.9}, "momentum"),  # pytorch convention: torch has none
    (adafactor, {"momentum": 1.0, "convention": "optax"}, "momentum"),
    (adafactor, {"min_dim_size_to_factor": 0}, "min_dim_size_to_factor"),
    (shampoo, {"eps": 0.0}, "eps"), (shampoo, {"learning_rate": -1.0}, "learning_rate"),
])
def test_bad_hyperparameters_are_refused_by_name(factory, kwargs, parameter):
    with pytest.raises(gdlab.InvalidParameterError, match=f"'{parameter}'"):
        factory(**kwargs)


def test_a_layout_that_does_not_fit_the_parameters_is_refused():
    opt = muon(layout=(("W", (2, 3)),))
    with pytest.raises(gdlab.InvalidParameterError, match="'layout'.*add up to the 7"):
        opt.init(jnp.zeros(7))
