"""Newton's method, conjugate gradients and L-BFGS: references, theory, contract.

The independent reference is SciPy (a test-only dependency): ``scipy.sparse.linalg.cg``
for linear CG iterate by iterate, ``scipy.optimize.LbfgsInvHessProduct`` for the
two-loop recursion, and ``scipy.optimize.minimize`` ('Newton-CG', 'CG', 'L-BFGS-B') for
the minimizers the methods reach. Then the theory: Newton's one step on a quadratic,
its quadratic convergence, its attraction to a saddle and the damping that undoes it;
CG's n steps and its sqrt(kappa) rate; L-BFGS's steps falling with its memory m. Then the
contract every optimlib optimizer keeps: errors that name the parameter and change
nothing, no mutation, dtype, shapes, bit-identical resume, and what ``minimize`` records.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimlib as ol
from optimlib.problems import LogisticRegression, Quadratic, Rosenbrock, Saddle
from optimlib.second_order import wolfe_line_search

scipy_optimize = pytest.importorskip("scipy.optimize")
scipy_linalg = pytest.importorskip("scipy.sparse.linalg")

EPS = np.finfo(np.float64).eps


def evenly_spread(n, kappa, seed=1):
    """A quadratic with eigenvalues spread evenly on [1, kappa], randomly rotated."""
    rng = np.random.default_rng(seed)
    return Quadratic.with_condition_number(kappa, dim=n, rng=rng, spacing="linear")


def run(problem, opt, steps, **kw):
    return ol.minimize(problem, opt, steps, **kw)


def oracles(problem, opt):
    return {name: getattr(problem, name) for name in opt.oracles}


# --- references: SciPy -----------------------------------------------------------------


@pytest.mark.parametrize(("n", "kappa"), [(10, 10.0), (20, 1e3), (30, 1e4), (50, 1e3)])
def test_exact_cg_iterates_agree_with_scipy_cg(n, kappa):
    """Each iterate of CG with exact line search equals scipy.sparse.linalg.cg's.

    Both compute linear CG in different algebraic forms (t = -g^T d / d^T A d and FR/PR
    beta here, r^T r / d^T A d there); rounding differs by about k kappa eps per step.
    Observed: at most 1.3e-12 ||x0 - x*|| (kappa = 1e4): 1e-10 leaves a margin of 80.
    """
    q = evenly_spread(n, kappa)
    theirs = []  # scipy's callback hands over the same array each time: copy it
    scipy_linalg.cg(q.A, q.b, x0=q.x0.copy(), rtol=0, atol=0, maxiter=n,
                    callback=lambda x: theirs.append(x.copy()))  # fmt: skip
    h = run(q, ol.ConjugateGradient(line_search="exact"), n)
    scale = np.linalg.norm(q.x0 - q.x_star)
    gaps = np.linalg.norm(h.thetas[1:] - np.array(theirs), axis=1) / scale
    assert gaps.max() < 1e-10, gaps.max()


@pytest.mark.parametrize("beta", ["FR", "PR"])
def test_cg_n_steps_on_an_n_dimensional_quadratic(beta):
    """Linear CG ends at x* after n steps, to rounding, and not before.

    Exact arithmetic gives x_n = x*; measured ||x_n - x*|| / ||x0 - x*|| <= 1.3e-12 for
    n <= 50, kappa <= 1e4 with evenly spread eigenvalues (scipy's cg: 2.8e-13); bound
    1e-9. Before step n the error is still far above rounding (above 1e-7 here: n distinct
    eigenvalues need a residual polynomial of degree n).
    """
    for n, kappa in [(5, 10.0), (20, 1e3), (30, 1e4)]:
        q = evenly_spread(n, kappa)
        h = run(q, ol.ConjugateGradient(beta=beta, line_search="exact"), n)
        errors = h.distances() / h.distances()[0]
        assert errors[n] < 1e-9, (n, kappa, errors[n])
        assert errors[n - 1] > 1e-7, (n, kappa, errors[n - 1])
        assert h.hess_evals == n and h.grad_evals == n


def test_newton_minimizer_agrees_with_scipy_trust_exact():
    """On l2-regularized logistic regression both reach the same minimizer.

    SciPy's 'trust-exact' (a Newton method with exact Hessian solves in a trust region)
    stops with ||g|| ~ 1e-11 (asked for 1e-12, it reports that it cannot improve), so
    its x is known to about ||g|| / lambda_min(H) ~ 1e-10 (observed difference 1.3e-10);
    ours reaches ||g|| < 1e-14. Bound 1e-9; the values agree to 1e-14 relative.
    """
    p = LogisticRegression.synthetic(200, 5, np.random.default_rng(0), kappa=10.0, l2=1e-2)
    h = run(p, ol.Newton(), 8)
    ref = scipy_optimize.minimize(
        p.f, p.x0, jac=p.grad, hess=p.hess, method="trust-exact", options={"gtol": 1e-12}
    )
    assert np.linalg.norm(p.grad(h.theta)) < 1e-14
    assert np.max(np.abs(h.theta - ref.x)) < 1e-9
    assert abs(h.final_loss - ref.fun) <= 1e-14 * abs(ref.fun)


@pytest.mark.parametrize(
    ("opt", "method"), [(ol.ConjugateGradient(), "CG"), (ol.LBFGS(m=5), "L-BFGS-B")]
)
def test_line_search_methods_reach_scipys_minimizer(opt, method):
    """Rosenbrock and logistic regression: the same minimizer as SciPy's CG / L-BFGS-B.

    Different line searches give different iterates, so only the ends are compared, each
    against what rounding allows. A line search compares values of f, which are exact
    only to a few ulps of f*: it cannot tell apart points with f - f* below about
    8 eps |f*|, where the gradient can still be sqrt(2 lambda_max 8 eps |f*|) (6e-8 on the
    logistic problem, f* = 0.37: CG stopped at 1.2e-8 with numpy's AVX-512 loops, 7e-9
    without). SciPy stops on its largest gradient entry (gtol), whose norm can be
    sqrt(n) times that. Both ends stationary is not yet the same minimizer: near a
    minimizer x* the distance is at most ||g|| / lambda_min, so two ends at the same one
    lie within the sum of their gradients over lambda_min (x1.5 for the Hessian's change,
    1e-12 for the gradients' own rounding), and ends at two stationary points do not.
    """
    rosenbrock = Rosenbrock()
    logistic = LogisticRegression.synthetic(300, 8, np.random.default_rng(1), kappa=30.0, l2=1e-3)
    eps = np.finfo(np.float64).eps
    for p in (rosenbrock, logistic):
        h = run(p, opt, 400)
        ref = scipy_optimize.minimize(
            p.f, p.x0, jac=p.grad, method=method, options={"gtol": 1e-10, "ftol": 0, "maxiter": 999}
        )
        curvatures = np.linalg.eigvalsh(p.hess(ref.x))
        floor = math.sqrt(2 * curvatures[-1] * 8 * eps * abs(ref.fun)) + 1e-12
        g_ours, g_ref = np.linalg.norm(p.grad(h.theta)), np.linalg.norm(p.grad(ref.x))
        assert g_ours < floor, (p, g_ours, floor)
        assert g_ref < max(floor, math.sqrt(len(ref.x)) * 1e-10), (p, g_ref, floor)
        distance = np.linalg.norm(h.theta - ref.x)
        assert distance <= 1.5 * (g_ours + g_ref) / curvatures[0] + 1e-12, (p, distance)


def test_two_loop_recursion_agrees_with_scipys_inverse_hessian_product():
    """L-BFGS's direction is -H g with SciPy's L-BFGS matrix for the same pairs.

    SciPy's LbfgsInvHessProduct starts from H0 = I; ours from gamma I. The BFGS update
    is covariant in that scale: pairs (s, gamma y) from I give H / gamma. Observed
    difference 1e-16 relative; bound 1e-13 (m = 6 pairs of O(n) sums).
    """
    rng = np.random.default_rng(3)
    n, m = 12, 6
    S = rng.standard_normal((m, n))
    M = rng.standard_normal((n, n))
    Y = S @ (M @ M.T + n * np.eye(n))  # y = B s with B positive definite: s^T y > 0
    g = rng.standard_normal(n)
    gamma = S[-1] @ Y[-1] / (Y[-1] @ Y[-1])
    ours = ol.LBFGS(m=m).direction(g, S, Y)
    theirs = -gamma * scipy_optimize.LbfgsInvHessProduct(S, gamma * Y).matvec(g)
    assert np.linalg.norm(ours - theirs) <= 1e-13 * np.linalg.norm(theirs)


# --- theory ----------------------------------------------------------------------------


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4, 1e8])
def test_newton_takes_one_step_on_a_quadratic(kappa):
    """theta_1 = x*: a linear solve, accurate to about kappa n eps ||x0 - x*||
    (observed 3e-13 at kappa = 1e4 in 30 dimensions; bound 10 kappa n eps)."""
    n = 30
    q = Quadratic.with_condition_number(kappa, dim=n, rng=np.random.default_rng(2))
    h = run(q, ol.Newton(), 1)
    error = h.distances()[1] / h.distances()[0]
    assert error <= 10 * kappa * n * EPS, error
    assert (h.grad_evals, h.hess_evals, h.f_evals) == (1, 1, 0)


def test_newton_converges_quadratically_on_rosenbrock():
    """e_{k+1} <= C e_k^2 near the minimizer: each step squares the error (C ~ 400 here,
    from the third derivative over the curvature; measured ratios below 1000)."""
    h = run(Rosenbrock(), ol.Newton(), 7)
    e = h.distances()
    late = [k for k in range(len(e) - 1) if 0 < e[k] < 0.1 and e[k + 1] > 1e-15]
    assert late, e
    assert all(e[k + 1] <= 1000 * e[k] ** 2 for k in late), e
    assert e[-1] < 1e-15


@pytest.mark.parametrize("damping", [0.0, 0.2, 0.4, 0.6, 0.9, 2.0, 5.0])
def test_damped_newton_near_the_saddle_grows_y_by_lambda_over_lambda_minus_b(damping):
    """Near the saddle f = a/2 x^2 - b/2 y^2 + b/4 y^4, Newton's y-update is linear:
    y <- y - y (y^2 - 1) b / (b (3 y^2 - 1) + lambda) ~ y lambda / (lambda - b).

    It is attracted to the saddle (|factor| < 1) exactly when lambda < b / 2. The factor
    is measured from y = 1e-6, where the y^3 terms are 1e-12 relative.
    """
    b = 1.0
    p = Saddle(a=1.0, b=b)
    opt = ol.Newton(damping=damping)
    y0 = 1e-6
    theta = opt.step(np.array([0.5, y0]), p.grad, hess=p.hess)
    measured = theta[1] / y0
    theory = damping / (damping - b)
    assert abs(measured - theory) <= 1e-10 * max(1.0, abs(theory)), (measured, theory)
    h = run(p, ol.Newton(damping=damping), 200)
    if damping < b / 2:
        assert np.max(np.abs(h.theta - p.saddle_point)) < 1e-12  # converged to the saddle
    else:
        assert h.final_loss - p.f_star < 1e-12  # escaped to a minimum


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_cg_error_stays_below_the_sqrt_kappa_bound(kappa):
    """||e_k||_A <= 2 ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^k ||e_0||_A (Nocedal &
    Wright eq. 5.36), checked while the bound is above 1e-6 (below, the A-norm computed
    from f - f* is rounding: f* ~ 1e2, so f - f* is known to ~1e-14, ||e||_A to ~1e-7).
    Evenly spread eigenvalues in 300 dimensions make the bound nearly tight: the measured
    rate to 1e-6 is within 15% of it and far below gradient descent's (kappa-1)/(kappa+1).
    """
    n = 300
    q = Quadratic(np.diag(np.linspace(1.0, kappa, n)), b=np.ones(n), x0=np.zeros(n))
    h = run(q, ol.ConjugateGradient(line_search="exact"), 200)
    error = np.sqrt(np.maximum(h.loss_gaps(), 0) / h.loss_gaps()[0])  # ||e_k||_A / ||e_0||_A
    root = math.sqrt(kappa)
    bound = 2 * ((root - 1) / (root + 1)) ** np.arange(len(error))
    checked = bound > 1e-6
    assert np.all(error[checked] <= bound[checked] * (1 + 1e-9))
    k = int(np.flatnonzero(error < 1e-6)[0])
    rate = error[k] ** (1 / k)
    assert 0.85 < rate / ((root - 1) / (root + 1)) <= 1.04, rate
    assert rate < (kappa - 1) / (kappa + 1)


def test_lbfgs_steps_to_tolerance_fall_with_memory():
    """More pairs, a better inverse-Hessian model, fewer steps (measured on a kappa = 1e3
    quadratic in 50 dimensions: 196, 164, 132, 99 steps for m = 1, 5, 20, 50).

    The counts move by a few steps with the last bits of the arithmetic (with another
    CPU's BLAS kernels: 189, 162, 133, 99; and m = 2 then took more steps than m = 1), so
    the memories compared are far apart and each must save more than 10 steps.
    """
    q = Quadratic.with_condition_number(1e3, dim=50, rng=np.random.default_rng(2))
    tol = 1e-10 * (q.f(q.x0) - q.f_star)
    steps = [run(q, ol.LBFGS(m=m), 2000, tol=tol).steps for m in (1, 5, 20, 50)]
    assert all(a > b + 10 for a, b in itertools.pairwise(steps)), steps
    assert steps[-1] < 0.6 * steps[0], steps


@settings(max_examples=60, deadline=None)
@given(
    curvature=st.floats(0.01, 100.0),
    quartic=st.floats(0.0, 10.0),
    t0=st.floats(1e-4, 1e4),
    c2=st.sampled_from([0.1, 0.5, 0.9]),
)
def test_wolfe_line_search_meets_the_strong_wolfe_conditions(curvature, quartic, t0, c2):
    """On phi(t) = f(1 - t) with f(x) = c x^2 / 2 + q x^4 / 4 (slope < 0 at t = 0), any
    first trial step: the returned t satisfies both strong Wolfe conditions."""

    def f_and_slope(t):
        x = 1.0 - t
        return curvature * x**2 / 2 + quartic * x**4 / 4, -(curvature * x + quartic * x**3)

    def phi(t):
        value, slope = f_and_slope(t)
        return value, slope, t

    f0, slope0 = f_and_slope(0.0)
    c1 = 1e-4
    t, payload = wolfe_line_search(phi, f0, slope0, t0, c1, c2)
    value, slope = f_and_slope(t)
    assert payload == t > 0
    assert value <= f0 + c1 * t * slope0
    assert abs(slope) <= c2 * abs(slope0)


# --- the contract ----------------------------------------------------------------------

VALID = {
    ol.Newton: {"lr": 1.0, "damping": 0.0},
    ol.ConjugateGradient: {"lr": 1.0, "beta": "PR", "line_search": "wolfe", "c1": 1e-4, "c2": 0.1},
    ol.LBFGS: {"lr": 1.0, "m": 10, "c1": 1e-4, "c2": 0.9},
}
INVALID = {
    "lr": ([0, -1.0, float("nan")], "> 0"),
    "damping": ([-1e-3, float("inf"), "1"], ">= 0"),
    "beta": (["HS", None], "'FR', 'PR'"),
    "line_search": (["armijo", None], "'wolfe', 'exact'"),
    "c1": ([0.0, 1.0, 2.0], "(0, 1)"),
    "c2": ([0.0, 1.0, -0.5], "(0, 1)"),
    "m": ([0, -1, 2.5, True], ">= 1"),
}
BAD = [
    pytest.param(cls, name, value, id=f"{cls.__name__}-{name}={value!r}")
    for cls, params in VALID.items()
    for name in params
    for value in INVALID[name][0]
]


@pytest.mark.parametrize(("cls", "name", "value"), BAD)
def test_bad_hyperparameters_raise_naming_the_parameter_and_change_nothing(cls, name, value):
    with pytest.raises(ValueError, match=name) as error:
        cls(**{**VALID[cls], name: value})
    assert INVALID[name][1] in str(error.value)
    opt = cls(**VALID[cls])
    before = opt.state_dict()
    with pytest.raises(ValueError, match=name):
        setattr(opt, name, value)
    assert opt.state_dict() == before


def test_c1_must_stay_below_c2():
    q = Quadratic.with_condition_number(10.0)
    for opt in (ol.LBFGS(c1=0.5, c2=0.4), ol.ConjugateGradient(c1=0.3, c2=0.2)):
        with pytest.raises(ValueError, match="c2"):
            opt.step(q.x0, q.grad, f=q.f)
        assert opt.k == 0 and opt.state == {}


def test_missing_oracles_and_minibatches_are_refused():
    q = Quadratic.with_condition_number(10.0)
    for opt, name in [(ol.Newton(), "hess"), (ol.LBFGS(), "f"), (ol.ConjugateGradient(), "f")]:
        with pytest.raises(ValueError, match=f"^{name}: .* needs {name}="):
            opt.step(q.x0, q.grad)
        assert opt.k == 0
    exact = ol.ConjugateGradient(line_search="exact")
    assert exact.oracles == ("hess",)
    p = LogisticRegression.synthetic(50, 2, np.random.default_rng(0), l2=0.1)
    rng = np.random.default_rng(0)
    for kw in ({"batch_size": 10, "rng": rng}, {"max_norm": 1.0}):
        with pytest.raises(ValueError, match="full, unclipped gradient"):
            run(p, ol.LBFGS(), 5, **kw)


def test_a_singular_damped_hessian_is_a_divergence_that_changes_nothing():
    """At the saddle (0, 0) with b = 1, H + lambda I = diag(a + 1, 0) for lambda = 1."""
    p = Saddle()
    opt = ol.Newton(damping=1.0)
    with pytest.raises(ol.DivergenceError, match="singular") as error:
        opt.step(np.zeros(2), p.grad, hess=p.hess)
    assert error.value.step == 0 and opt.k == 0 and opt.state == {}
    h = run(p, ol.Newton(damping=1.0), 5, x0=np.zeros(2))
    assert h.diverged_at == 0


@settings(max_examples=25, deadline=None)
@given(
    which=st.sampled_from(["newton", "cg", "cg-exact", "lbfgs"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=st.sampled_from([(6,), (2, 3), (3, 1, 2)]),
    seed=st.integers(0, 2**16),
)
def test_any_shape_either_dtype_no_mutation_and_bit_identical_resume(which, dtype, shape, seed):
    """theta of any shape (the Hessian is (n, n), n = theta.size), computed in theta's
    dtype; step never writes into theta; state_dict/load_state_dict resume bit for bit."""
    make = {
        "newton": lambda: ol.Newton(damping=0.1),
        "cg": lambda: ol.ConjugateGradient(),
        "cg-exact": lambda: ol.ConjugateGradient(line_search="exact", beta="FR"),
        "lbfgs": lambda: ol.LBFGS(m=3),
    }[which]
    q = Quadratic.with_condition_number(20.0, dim=6, rng=np.random.default_rng(seed))

    def f(x):
        return q.f(np.ravel(x))

    def grad(x):
        return q.grad(np.ravel(x)).reshape(np.shape(x))

    def hess(x):
        return q.hess(np.ravel(x))

    kw = {"f": f, "hess": hess}
    opt = make()
    theta = np.asarray(q.x0, dtype=dtype).reshape(shape)
    for _ in range(2):
        before = theta.copy()
        new = opt.step(theta, grad, **{n: kw[n] for n in opt.oracles})
        np.testing.assert_array_equal(theta, before)
        assert new.dtype == dtype and new.shape == shape and new is not theta
        theta = new
    saved = opt.state_dict()
    resumed = make()
    resumed.load_state_dict(saved)
    a = opt.step(theta, grad, **{n: kw[n] for n in opt.oracles})
    b = resumed.step(theta, grad, **{n: kw[n] for n in opt.oracles})
    np.testing.assert_array_equal(a, b)


def test_lbfgs_memory_is_a_stack_of_m_vectors_and_load_checks_it():
    q = Quadratic.with_condition_number(10.0, dim=4)
    opt = ol.LBFGS(m=3)
    theta = q.x0
    for _ in range(2):
        theta = opt.step(theta, q.grad, f=q.f)
    assert opt.state["S"].shape == opt.state["Y"].shape == (3, 4)
    assert np.count_nonzero(np.any(opt.state["S"], axis=1)) == 2  # two pairs, newest last
    saved = opt.state_dict()
    saved["state"]["Y"] = saved["state"]["Y"][:, :2]
    with pytest.raises(ValueError, match="different shapes"):
        ol.LBFGS(m=3).load_state_dict(saved)


def test_minimize_counts_each_oracle_and_reuses_the_line_searchs_last_gradient():
    """A line search ends where it computed f and g: the next step asks for neither
    again, so every gradient evaluation pairs with one evaluation of f."""
    q = Quadratic.with_condition_number(100.0, dim=10, rng=np.random.default_rng(0))
    for opt in (ol.LBFGS(), ol.ConjugateGradient()):
        calls = []

        def counted(x, calls=calls):
            calls.append(1)
            return q.grad(x)

        h = run(q, opt, 8, grad_fn=counted)
        assert h.grad_evals == len(calls) == h.f_evals
        assert h.steps + 1 <= h.grad_evals < 3 * h.steps  # one search costs one or two
    newton = run(q, ol.Newton(), 3)
    assert (newton.grad_evals, newton.hess_evals, newton.f_evals) == (3, 3, 0)
    sgd = run(q, ol.SGD(lr=0.01), 3)
    assert (sgd.f_evals, sgd.hess_evals) == (0, 0)
