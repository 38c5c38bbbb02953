"""Test problems for the optimizers: landscapes to look at and data sets to learn from.

Every problem is a :class:`Problem`: an objective ``f``, its gradient ``grad`` (the
``grad_fn`` that ``opt.step(theta, grad_fn)`` takes), its Hessian ``hess`` where the
chapters need one, a default start ``x0``, and the minimizer ``x_star`` and optimal
value ``f_star`` where they are known.

* :class:`Quadratic`: the model of every local analysis; its condition number kappa
  sets the rate of gradient descent and of momentum (chapters 1, 2, 5).
* :class:`Rosenbrock`, :class:`Saddle`, :class:`Cliff`: a curved valley, a saddle point
  and an exploding gradient, the hard landscapes of chapter 2 (and 7 for the cliff).
* :class:`LinearRegression`, :class:`LogisticRegression`: finite sums
  f(w) = (1/N) sum_i L_i(w) with minibatch gradients (chapters 3 and 4); their
  ``synthetic`` versions also know the true risk, the expected loss on new data.
* :func:`two_spirals`: a classic data set that a linear model cannot fit but a small
  MLP can (chapter 9); :class:`Network` makes an MLP classifier on such data a finite
  sum that :func:`optimlib.minimize` trains with minibatches.

``f`` accepts a stack of points, shape (..., dim), and returns shape (...), so a whole
contour grid costs one call; for a single point it returns a float. Arrays that
describe a problem (``A``, ``x0``, ``x_star``, ``X``, ...) are read-only, so that no
run can quietly change the problem under the next one. All randomness comes from an
explicit ``np.random.Generator``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import _checks
from . import nn as _nn

__all__ = [
    "Cliff",
    "FiniteSum",
    "LinearRegression",
    "LogisticRegression",
    "Network",
    "Problem",
    "Quadratic",
    "Rosenbrock",
    "Saddle",
    "two_spirals",
]


class Problem:
    """An objective f: R^dim -> R with its gradient (and Hessian, where defined).

    Subclasses set ``name`` (a short label for legends), ``dim``, ``x0`` (a default
    start), ``x_star`` and ``f_star`` (a minimizer and the optimal value, or None when
    unknown) and ``bounds`` (the plotting box ((xmin, xmax), (ymin, ymax)) of a 2-D
    problem, else None), and implement ``f`` and ``grad``.
    """

    name: str = "problem"
    dim: int
    x0: np.ndarray
    x_star: np.ndarray | None = None
    f_star: float | None = None
    bounds: tuple | None = None

    def f(self, x):
        """The objective at x, shape (..., dim) -> (...); a float for a single point."""
        raise NotImplementedError

    def grad(self, x) -> np.ndarray:
        """The gradient of f at x, shape (..., dim) -> (..., dim)."""
        raise NotImplementedError

    def hess(self, x) -> np.ndarray:
        """The Hessian of f at x, shape (dim, dim)."""
        raise NotImplementedError(f"{type(self).__name__} does not define a Hessian")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}>"

    # --- helpers for subclasses ------------------------------------------------------
    def _points(self, x, name: str = "x") -> np.ndarray:
        """x as a float array of shape (..., dim), or a ValueError naming it."""
        x = _checks.float_array(name, x)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{name} must have shape ({self.dim},), or (..., {self.dim}) for a stack of "
                f"points; got shape {x.shape}"
            )
        return x

    def _point(self, x, name: str = "x") -> np.ndarray:
        """x as a float array of shape (dim,) exactly."""
        x = self._points(x, name)
        if x.ndim != 1:
            raise ValueError(f"{name} must have shape ({self.dim},); got shape {x.shape}")
        return x


def _value(f: np.ndarray, x: np.ndarray):
    """f as a plain float when x was a single point, else the array of values."""
    return float(f) if x.ndim == 1 else f


def _frozen(array) -> np.ndarray:
    """A read-only float64 copy: a problem's data cannot change behind its back."""
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array


def _generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)); got {rng!r}"
        )
    return rng


_EPS = float(np.finfo(np.float64).eps)


def _kappa_max(dim: int) -> float:
    """The largest condition number Quadratic.with_condition_number builds in ``dim``
    dimensions: 1 / (10 dim eps), where float64's rounding of A stays below a tenth of
    lambda_min."""
    return 1 / (10 * dim * _EPS)


def _condition_number(name: str, kappa) -> float:
    kappa = _checks.finite(name, kappa)
    if kappa < 1:
        raise ValueError(
            f"{name} must be a finite number >= 1 (lambda_max / lambda_min); got {kappa!r}"
        )
    return kappa


def _vector(name: str, value, dim: int) -> np.ndarray:
    """A finite float vector of shape (dim,), or a ValueError naming it."""
    value = _checks.float_array(name, value).astype(np.float64)
    if value.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},); got shape {value.shape}")
    if not np.isfinite(value).all():
        raise ValueError(f"{name} must be finite; got {value}")
    return value


# --- the logistic function and its relatives, without overflow --------------------------


def _sigmoid(z):
    """1 / (1 + exp(-z)), for any z: only exp(-|z|) <= 1 is ever computed.

    The textbook formula overflows in exp(-z) for z < -709. Underflow of exp(-|z|) to 0,
    for |z| > 745, gives the correct limit 0 or 1 (numpy does not report it by default).
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_slope(z):
    """sigma'(z) = sigma(z) sigma(-z) = e / (1 + e)^2 with e = exp(-|z|) (even in z)."""
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


def _softplus(z):
    """log(1 + exp(z)), by np.logaddexp, which neither overflows nor loses small values."""
    return np.logaddexp(0.0, z)


# --- Newton's method, to find the minimizers we cannot write down ------------------------


def _newton(f, grad, hess, x, max_iter: int = 100, give_up=None):
    """Minimize f from x by Newton's method with backtracking; returns (x, converged).

    The Newton decrement lambda^2 = g^T H^-1 g estimates 2 (f(x) - f*) near a minimum;
    iterations stop when it is below rounding error. Far from the minimum a full Newton
    step can overshoot, so it is halved until f decreases enough (Armijo's rule);
    ``give_up(x)`` may end the search early (it returns (x, False)).
    """
    for _ in range(max_iter):
        if give_up is not None and give_up(x):
            return x, False
        g, fx = grad(x), f(x)
        try:
            step = np.linalg.solve(hess(x), g)
        except np.linalg.LinAlgError:
            return x, False
        decrement = float(g @ step)
        if not decrement > 1e-28 * max(1.0, abs(fx)):
            return x, decrement >= 0  # a negative decrement: H is not positive definite
        t = 1.0
        if decrement > 1e-8:  # near the minimum the full step is safe, and rounding is not
            while f(x - t * step) > fx - 0.25 * t * decrement and t > 1e-12:
                t /= 2
        x = x - t * step
    return x, False


# --- the quadratic model ----------------------------------------------------------------


class Quadratic(Problem):
    """f(x) = 1/2 x^T A x - b^T x with A symmetric positive definite.

    The minimizer solves A x = b (what the lecture's "f(x) = A^-1 x" means); the
    eigenvalues of A are the curvatures along its eigenvectors, and their ratio
    kappa = lambda_max / lambda_min, the condition number, sets how fast first-order
    methods converge (Goodfellow et al. 2016, secs. 4.3.1 and 8.2.1).

    Attributes: ``A``, ``b``, ``eigenvalues`` (ascending) with their ``eigenvectors``
    (the columns), ``mu`` = lambda_min, ``L`` = lambda_max, ``kappa``, ``x_star``,
    ``f_star``. With ``b=None``, b = 0 and x* = 0. The default start is
    x0 = x* + 3 (-v_1 + v_2 - v_3 + ...), v_i the eigenvectors: every eigen-direction
    starts 3 away, so gradient descent shows both its fast and its slow directions.
    """

    def __init__(self, A, b=None, x0=None):
        A = _checks.float_array("A", A).astype(np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(f"A must be a square matrix of shape (n, n); got shape {A.shape}")
        if not np.isfinite(A).all():
            raise ValueError("A must be finite; it contains NaN or inf")
        scale = np.max(np.abs(A))
        if not np.allclose(A, A.T, rtol=0, atol=1e-10 * scale):
            raise ValueError(
                f"A must be symmetric (A == A.T within 1e-10 max|A|); "
                f"got max |A - A.T| = {np.max(np.abs(A - A.T)):.3g}"
            )
        A = (A + A.T) / 2  # exactly symmetric, so x @ A and A @ x agree
        self.dim = A.shape[0]
        eigenvalues, eigenvectors = np.linalg.eigh(A)
        if not eigenvalues[0] > 0:
            raise ValueError(
                f"A must be positive definite; its smallest eigenvalue is {eigenvalues[0]:.3g} "
                f"(largest {eigenvalues[-1]:.3g})"
            )
        # float64 holds A's eigenvalues to about dim * eps * lambda_max: a smaller
        # lambda_min is rounding, not curvature.
        if not eigenvalues[0] > self.dim * _EPS * eigenvalues[-1]:
            raise ValueError(
                f"A must be well enough conditioned for float64: its condition number "
                f"lambda_max / lambda_min must be below 1 / (dim eps) = "
                f"{1 / (self.dim * _EPS):.3g}; got {eigenvalues[-1] / eigenvalues[0]:.3g}"
            )
        self.A = _frozen(A)
        self.b = _frozen(np.zeros(self.dim) if b is None else _vector("b", b, self.dim))
        self.eigenvalues = _frozen(eigenvalues)
        self.eigenvectors = _frozen(eigenvectors)
        self.x_star = _frozen(np.linalg.solve(self.A, self.b))
        self.f_star = self.f(self.x_star)
        if x0 is None:
            x0 = self.x_star + self.eigenvectors @ _alternating(self.dim, 3.0)
        self.x0 = _frozen(_vector("x0", x0, self.dim))
        self.name = f"quadratic (kappa={self.kappa:.3g})"
        self.bounds = self._default_bounds()

    @classmethod
    def with_condition_number(
        cls, kappa, dim=2, lam_min=1.0, angle=0.0, rng=None, b=None
    ) -> Quadratic:
        """A quadratic whose Hessian has condition number exactly ``kappa``.

        Eigenvalues: lam_min and kappa * lam_min, with (dim > 2) the others spaced
        evenly on a log scale between them. Eigenvectors: in 2-D and with ``angle=0``
        the coordinate axes, the smallest curvature along the first axis (a valley that
        runs along x with steep walls in y, which suits a wide plot), turned
        counterclockwise by ``angle`` radians; with ``rng`` (a np.random.Generator), a
        random orthogonal matrix instead, in any dimension. With ``b=None``,
        b = A (1, ..., 1), so the minimizer is x* = (1, ..., 1), away from the origin
        where runs often start.

        ``eigenvalues`` and ``eigenvectors`` are the exact ones it was built from (A
        holds them up to rounding), so ``kappa`` is the requested value.

        kappa may be at most 1 / (10 dim eps) (eps = 2.2e-16, float64's precision; about
        2.3e14 for dim = 2): A holds its eigenvalues only to about dim eps lambda_max, so
        a larger kappa would make that rounding more than a tenth of lambda_min, and
        near 1 / (dim eps) A is no longer positive definite in float64.
        """
        kappa = _condition_number("kappa", kappa)
        dim = _checks.positive_int("dim", dim)
        if kappa > _kappa_max(dim):
            raise ValueError(
                f"kappa must be a finite number in [1, 1 / (10 dim eps)] = "
                f"[1, {_kappa_max(dim):.3g}] for dim = {dim}: float64 cannot represent a "
                f"wider spectrum faithfully; got {kappa!r}"
            )
        lam_min = _checks.positive("lam_min", lam_min)
        angle = _checks.finite("angle", angle)
        if dim == 1 and kappa != 1:
            raise ValueError(f"kappa must be 1 when dim = 1 (one eigenvalue); got {kappa!r}")
        if rng is not None:
            if angle != 0:
                raise ValueError(f"angle must be 0 when rng draws the rotation; got {angle!r}")
            Q = _random_orthogonal(dim, _generator(rng))
        elif dim == 2:
            c, s = math.cos(angle), math.sin(angle)
            Q = np.array([[c, -s], [s, c]])
        elif angle != 0:
            raise ValueError(
                f"angle must be 0 when dim = {dim} (it turns 2-D problems; rng turns any); "
                f"got {angle!r}"
            )
        else:
            Q = np.eye(dim)
        lam = np.geomspace(lam_min, kappa * lam_min, dim)  # its endpoints are exact
        A = (Q * lam) @ Q.T  # Q diag(lam) Q^T
        A = (A + A.T) / 2
        if b is None:
            b = A @ np.ones(dim)
        x_star = np.linalg.solve(A, _vector("b", b, dim))
        problem = cls(A, b, x0=x_star + Q @ _alternating(dim, 3.0))
        problem.eigenvalues, problem.eigenvectors = _frozen(lam), _frozen(Q)
        problem.name = f"quadratic (kappa={kappa:.3g})"
        return problem

    @property
    def mu(self) -> float:
        """The smallest eigenvalue: the curvature of the flattest direction."""
        return float(self.eigenvalues[0])

    @property
    def L(self) -> float:
        """The largest eigenvalue: the curvature of the steepest direction."""
        return float(self.eigenvalues[-1])

    @property
    def kappa(self) -> float:
        """The condition number L / mu."""
        return self.L / self.mu

    def f(self, x):
        x = self._points(x)
        quadratic = np.einsum("...i,ij,...j->...", x, self.A, x)
        return _value(quadratic / 2 - x @ self.b, x)

    def grad(self, x) -> np.ndarray:
        x = self._points(x)
        return x @ self.A - self.b  # A x - b, for a stack of x as well (A is symmetric)

    def hess(self, x) -> np.ndarray:
        x = self._points(x)
        return np.broadcast_to(self.A, (*x.shape[:-1], self.dim, self.dim)).copy()

    # --- the theory the chapters measure against ---------------------------------------
    def gd_rate(self, eps):
        """max_i |1 - eps lambda_i|: gradient descent with step eps contracts ||x_k - x*||
        by at least this factor per step (and exactly, in the slowest eigen-direction).

        x_{k+1} - x* = (I - eps A)(x_k - x*), whose eigenvalues are 1 - eps lambda_i; the
        largest in absolute value is reached at lambda_min or lambda_max. Below 1 exactly
        when 0 < eps < 2 / L. ``eps`` may be an array (a rate for each step size).
        """
        eps = np.asarray(eps, dtype=np.float64)
        if not (np.isfinite(eps).all() and (eps > 0).all()):
            raise ValueError(f"eps must be a finite number > 0 (or an array of them); got {eps!r}")
        rate = np.maximum(np.abs(1 - eps * self.mu), np.abs(1 - eps * self.L))
        return float(rate) if rate.ndim == 0 else rate

    def gd_optimal_lr(self) -> float:
        """2 / (mu + L): the step that balances the slowest and the steepest direction,
        giving the rate (kappa - 1) / (kappa + 1)."""
        return 2 / (self.mu + self.L)

    def heavy_ball_optimal(self) -> tuple[float, float]:
        """(eps, alpha) = (4 / (sqrt(L) + sqrt(mu))^2, ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2),
        the heavy-ball parameters with the fastest asymptotic rate (Polyak 1964)."""
        root_kappa = math.sqrt(self.kappa)
        eps = 4 / (math.sqrt(self.L) + math.sqrt(self.mu)) ** 2
        alpha = ((root_kappa - 1) / (root_kappa + 1)) ** 2
        return eps, alpha

    def heavy_ball_rate(self) -> float:
        """(sqrt(kappa) - 1) / (sqrt(kappa) + 1): the asymptotic contraction per step of
        the heavy ball with :meth:`heavy_ball_optimal` parameters (Polyak 1964).

        The iteration matrix then has a repeated eigenvalue in the extreme directions,
        so ||x_k - x*|| behaves like k rate^k: the rate holds for large k, and the first
        steps can overshoot (the step is about 4 / L, twice gradient descent's limit).
        """
        root_kappa = math.sqrt(self.kappa)
        return (root_kappa - 1) / (root_kappa + 1)

    def _default_bounds(self):
        """A square centred on x* that holds x0 with a margin of a quarter."""
        if self.dim != 2:
            return None
        half = 1.25 * float(np.linalg.norm(self.x0 - self.x_star))
        half = half if half > 0 else 1.0
        return tuple((float(c - half), float(c + half)) for c in self.x_star)


def _alternating(dim: int, size: float) -> np.ndarray:
    """(-size, +size, -size, ...): a start offset that excites every eigen-direction."""
    return size * (-1.0) ** (np.arange(dim) + 1)


def _random_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal matrix, uniform over O(dim): the Q of a Gaussian matrix's QR
    decomposition, with the signs fixed so that R has a positive diagonal (Mezzadri 2007)."""
    Q, R = np.linalg.qr(rng.standard_normal((dim, dim)))
    return Q * np.sign(np.diag(R))


# --- hard landscapes in two dimensions ----------------------------------------------------


class Rosenbrock(Problem):
    """f(x, y) = (a - x)^2 + b (y - x^2)^2 (Rosenbrock 1960).

    A curved, flat-bottomed valley along the parabola y = x^2 with the minimum
    x* = (a, a^2), f* = 0; gradient descent crosses the valley quickly and then crawls
    along its floor. The default start (-1.2, 1) is Rosenbrock's own.
    """

    def __init__(self, a=1.0, b=100.0):
        self.a = _checks.finite("a", a)
        self.b = _checks.positive("b", b)
        self.dim = 2
        self.x0 = _frozen([-1.2, 1.0])
        self.x_star = _frozen([self.a, self.a * self.a])
        self.f_star = self.f(self.x_star)  # 0
        self.name = f"Rosenbrock (a={self.a:g}, b={self.b:g})"
        self.bounds = (
            (min(-2.0, self.a - 1), max(2.0, self.a + 1)),
            (min(-1.0, self.a**2 - 1), max(3.0, self.a**2 + 1)),
        )

    def f(self, x):
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        return _value((self.a - u) ** 2 + self.b * (v - u**2) ** 2, x)

    def grad(self, x) -> np.ndarray:
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        valley = v - u**2  # how far above the valley floor y = x^2
        return np.stack([-2 * (self.a - u) - 4 * self.b * u * valley, 2 * self.b * valley], -1)

    def hess(self, x) -> np.ndarray:
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        h_uu = 2 - 4 * self.b * (v - u**2) + 8 * self.b * u**2
        h_uv = -4 * self.b * u
        h_vv = np.full_like(u, 2 * self.b)
        return np.stack([np.stack([h_uu, h_uv], -1), np.stack([h_uv, h_vv], -1)], -2)


class Saddle(Problem):
    """f(x, y) = a/2 x^2 - b/2 y^2 + b/4 y^4.

    The origin is a saddle point: the gradient vanishes and the Hessian diag(a, -b) has
    a negative eigenvalue. The minima are (0, -1) and (0, 1), with f* = -b/4
    (``minima``; ``x_star`` is (0, 1)). Started at (1, 1e-3), just off the ridge,
    gradient descent slides into the saddle, lingers while y grows by a factor
    (1 + eps b) per step, then escapes: a plateau in the loss curve (Dauphin et al.
    2014; Goodfellow et al. 2016, sec. 8.2.3).
    """

    def __init__(self, a=1.0, b=1.0):
        self.a = _checks.positive("a", a)
        self.b = _checks.positive("b", b)
        self.dim = 2
        self.x0 = _frozen([1.0, 1e-3])
        self.saddle_point = _frozen([0.0, 0.0])
        self.minima = _frozen([[0.0, -1.0], [0.0, 1.0]])
        self.x_star = self.minima[1]
        self.f_star = self.f(self.x_star)  # -b/4
        self.name = f"saddle (a={self.a:g}, b={self.b:g})"
        self.bounds = ((-1.5, 1.5), (-1.5, 1.5))

    def f(self, x):
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        return _value(self.a / 2 * u**2 - self.b / 2 * v**2 + self.b / 4 * v**4, x)

    def grad(self, x) -> np.ndarray:
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        return np.stack([self.a * u, self.b * (v**3 - v)], -1)

    def hess(self, x) -> np.ndarray:
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        zero = np.zeros_like(u)
        h_uu = np.full_like(u, self.a)
        h_vv = self.b * (3 * v**2 - 1)
        return np.stack([np.stack([h_uu, zero], -1), np.stack([zero, h_vv], -1)], -2)


class Cliff(Problem):
    """A gentle bowl cut by a cliff: the landscape of an exploding gradient.

    f(x, y) = c/2 ((x - x_c)^2 + (y - y_c)^2) + height * S(x), where the step S falls
    from 1 to 0 along a straight face of ``width`` centred at x = ``position``:
    S = 1 on the high side, 0 on the low side, linear in between, its two edges rounded
    over a distance ``softness``:

        S(x) = (softness / width) [softplus((x_bottom - x) / softness)
                                   - softplus((x_top - x) / softness)],

    x_top, x_bottom = position -/+ width / 2. On the face the slope is height / width
    (``max_gradient_norm``; 200 with the defaults), against a gradient of at most 1.6
    elsewhere on the way from x0 = (-1, 0.5) to the bowl's centre (x_c, y_c) = (0.5, 0).

    Gradient descent with eps = 0.1 (stable on the bowl: c eps = 0.1) walks down the
    plateau in steps of a few hundredths, so an iterate lands on the face, whose
    gradient then throws it about eps * 200 = 20 away, several plot widths; clipping the
    gradient to norm 1 turns that into a step of 0.1 down the cliff (Pascanu, Mikolov &
    Bengio 2013; Goodfellow et al. 2016, secs. 8.2.4 and 10.11.1). With the defaults
    this happens for every step size from 0.04 to 0.2 (tested); from about 0.215 the
    steps outgrow the face and can jump clean over it. A face of constant slope, rather
    than a logistic step, is what makes the landing dependable: it is wider than the
    steps that reach it, while a logistic face is steep over a few widths only and the
    exponential tail in front of it tends to throw iterates over it.

    ``x_star`` is found by Newton's method from the bowl's centre (the step's tail
    shifts the minimum, by far less than rounding error with the defaults).
    """

    def __init__(
        self,
        height=20.0,
        width=0.1,
        position=0.0,
        softness=1e-4,
        curvature=1.0,
        center=(0.5, 0.0),
        x0=(-1.0, 0.5),
    ):
        self.height = _checks.positive("height", height)
        self.width = _checks.positive("width", width)
        self.position = _checks.finite("position", position)
        self.softness = _checks.positive("softness", softness)
        self.curvature = _checks.positive("curvature", curvature)
        self.dim = 2
        self.center = _frozen(_vector("center", center, 2))
        self.x0 = _frozen(_vector("x0", x0, 2))
        self.max_gradient_norm = (
            self.height / self.width * math.tanh(self.width / (4 * self.softness))
        )
        x_star, converged = _newton(self.f, self.grad, self.hess, self.center.copy())
        if not converged:
            raise ValueError(
                "Cliff: Newton's method found no minimum near center; check the parameters"
            )
        self.x_star = _frozen(x_star)
        self.f_star = self.f(self.x_star)
        self.name = f"cliff (height={self.height:g}, width={self.width:g})"
        xs = (self.x0[0], self.x_star[0], self.position)
        half_height = max(1.0, abs(self.x0[1] - self.center[1]) + 0.5)
        self.bounds = (
            (float(min(xs) - 0.5), float(max(xs) + 1.0)),
            (float(self.center[1] - half_height), float(self.center[1] + half_height)),
        )

    def _edges(self, u):
        """(x_bottom - u) / softness and (x_top - u) / softness."""
        return (
            (self.position + self.width / 2 - u) / self.softness,
            (self.position - self.width / 2 - u) / self.softness,
        )

    def f(self, x):
        x = self._points(x)
        bottom, top = self._edges(x[..., 0])
        step = self.softness / self.width * (_softplus(bottom) - _softplus(top))
        bowl = self.curvature / 2 * np.sum((x - self.center) ** 2, axis=-1)
        return _value(bowl + self.height * step, x)

    def grad(self, x) -> np.ndarray:
        x = self._points(x)
        bottom, top = self._edges(x[..., 0])
        g = self.curvature * (x - self.center)
        g[..., 0] -= self.height / self.width * (_sigmoid(bottom) - _sigmoid(top))
        return g

    def hess(self, x) -> np.ndarray:
        x = self._points(x)
        bottom, top = self._edges(x[..., 0])
        H = np.broadcast_to(self.curvature * np.eye(2), (*x.shape[:-1], 2, 2)).copy()
        bend = _sigmoid_slope(bottom) - _sigmoid_slope(top)  # large at the two edges only
        H[..., 0, 0] += self.height / (self.width * self.softness) * bend
        return H


# --- finite sums: empirical risk, minibatches, and the true risk -------------------------

_BLOCK = 1 << 17  # floats in one temporary block (1 MiB): bounds memory on large grids


class FiniteSum(Problem):
    """f(w) = (1/N) sum_i L_i(w): the empirical risk of N examples (X[i], y[i]).

    The minibatch gradient over m distinct random examples B,
    ghat = (1/m) sum_{i in B} grad L_i(w), is an unbiased estimate of grad f(w); with
    ``reduction="sum"``, (N/m) sum_{i in B} grad L_i(w) estimates the gradient of the
    sum N f(w) (the N/m factor of the lecture's minibatch update). Without replacement,
    the variance of ghat is (N - m) / (m (N - 1)) times the variance of a single
    example's gradient (:meth:`minibatch_variance`).

    Subclasses implement :meth:`per_example_losses` and :meth:`per_example_grads`.
    """

    def __init__(self, X, y):
        X = _checks.float_array("X", X).astype(np.float64)
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must be a 2-D array (N examples, d features); got shape {X.shape}")
        y = _checks.float_array("y", y).astype(np.float64)
        if y.shape != (X.shape[0],):
            raise ValueError(
                f"y must have shape ({X.shape[0]},), one target per row of X; got {y.shape}"
            )
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise ValueError("X and y must be finite; they contain NaN or inf")
        self.X, self.y = _frozen(X), _frozen(y)
        self.N, self.dim = X.shape
        self.x0 = _frozen(np.zeros(self.dim))
        self.name = f"{type(self).__name__} (N={self.N}, d={self.dim})"

    # --- what a subclass writes ----------------------------------------------------------
    def per_example_losses(self, w, idx=None) -> np.ndarray:
        """L_i(w) for the examples idx (all when None): shape (..., m) for w of shape (..., d)."""
        raise NotImplementedError

    def per_example_grads(self, w, idx=None) -> np.ndarray:
        """grad L_i(w) for the examples idx (all when None): shape (m, d) for w of shape (d,)."""
        raise NotImplementedError

    # --- the objective ---------------------------------------------------------------------
    def f(self, w):
        """The empirical risk (1/N) sum_i L_i(w)."""
        w = self._points(w, "w")
        losses = _blockwise(lambda rows: self.per_example_losses(rows).mean(axis=-1), w, self.N)
        return _value(losses, w)

    def grad(self, w) -> np.ndarray:
        """The gradient of the empirical risk, (1/N) sum_i grad L_i(w)."""
        w = self._point(w, "w")
        return self.per_example_grads(w).mean(axis=0)

    def f_sum(self, w):
        """N f(w) = sum_i L_i(w)."""
        return self.N * self.f(w)

    def grad_sum(self, w) -> np.ndarray:
        """N grad f(w) = sum_i grad L_i(w)."""
        return self.N * self.grad(w)

    def risk(self, w):
        """The expected loss on new data from the same distribution.

        Known only for problems drawn by a ``synthetic`` constructor, which record the
        distribution; a problem built from data has no distribution to average over.
        """
        raise ValueError(
            f"risk: {self.name} was built from data, so its distribution (and hence its risk) "
            f"is unknown; problems made by {type(self).__name__}.synthetic(...) know theirs"
        )

    # --- minibatches -----------------------------------------------------------------------
    def sample_indices(self, m, rng) -> np.ndarray:
        """m distinct indices drawn uniformly at random (without replacement) with rng."""
        m = self.check_batch_size(m)
        return _generator(rng).choice(self.N, size=m, replace=False)

    def minibatch_grad(self, w, m, rng, reduction="mean") -> np.ndarray:
        """A minibatch estimate of the gradient from m distinct random examples B.

        ``reduction="mean"``: (1/m) sum_{i in B} grad L_i(w), unbiased for grad f(w).
        ``reduction="sum"``: (N/m) sum_{i in B} grad L_i(w), unbiased for N grad f(w).
        """
        reduction = _reduction(reduction)
        idx = self.sample_indices(m, rng)
        total = self.per_example_grads(w, idx).sum(axis=0)
        if reduction == "sum":
            return (self.N / len(idx)) * total
        return total / len(idx)

    def oracle(self, m, rng, reduction="mean"):
        """The function w -> minibatch_grad(w, m, rng, reduction): a ``grad_fn`` for
        ``opt.step(theta, grad_fn)`` that draws a fresh minibatch at every call."""
        self.check_batch_size(m)
        _generator(rng)
        _reduction(reduction)

        def minibatch_gradient(w):
            return self.minibatch_grad(w, m, rng, reduction)

        return minibatch_gradient

    def minibatch_variance(self, w, m, reduction="mean") -> float:
        """E ||ghat - E ghat||^2 for the minibatch gradient ghat of m distinct examples.

        With s^2 = (1/N) sum_i ||grad L_i(w) - grad f(w)||^2, the spread of single
        examples, sampling without replacement gives s^2 (N - m) / (m (N - 1)): about
        s^2 / m for m << N, and 0 for the full batch m = N. ``reduction="sum"``
        multiplies the estimate, hence this, by N (the variance by N^2).
        """
        m = self.check_batch_size(m)
        reduction = _reduction(reduction)
        grads = self.per_example_grads(self._point(w, "w"))
        spread = np.mean(np.sum((grads - grads.mean(axis=0)) ** 2, axis=1))
        variance = 0.0 if self.N == 1 else spread * (self.N - m) / (m * (self.N - 1))
        return float(variance * (self.N**2 if reduction == "sum" else 1))

    def check_batch_size(self, m) -> int:
        """m as an int, or a ValueError unless it is a minibatch size in 1..N."""
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or not 1 <= m <= self.N:
            raise ValueError(f"m must be an integer in 1..{self.N} (the minibatch size); got {m!r}")
        return int(m)

    def _rows(self, idx):
        """The examples idx (all when None): (X[idx], y[idx])."""
        if idx is None:
            return self.X, self.y
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise ValueError(f"idx must be a 1-D array of example indices; got {idx!r}")
        return self.X[idx], self.y[idx]

    def _default_bounds(self):
        """For d = 2: a square around x0 = 0 and x* that shows both."""
        if self.dim != 2 or self.x_star is None:
            return None
        half = 1.5 * max(1.0, float(np.max(np.abs(self.x_star))))
        return ((-half, half), (-half, half))


def _reduction(reduction) -> str:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}")
    return reduction


def _blockwise(fn, points: np.ndarray, width: int) -> np.ndarray:
    """fn over the points (..., d), a block of rows at a time: fn's temporaries are
    (rows, width), so a contour grid of a big data set does not fill the memory."""
    flat = points.reshape(-1, points.shape[-1])
    rows = max(1, _BLOCK // max(width, 1))
    out = [fn(flat[start : start + rows]) for start in range(0, max(len(flat), 1), rows)]
    return np.concatenate(out).reshape(points.shape[:-1] + out[0].shape[1:])


class _LinearModel(FiniteSum):
    """A finite sum whose i-th loss sees w only through z_i = x_i^T w:

        L_i(w) = loss(z_i, y_i) + l2/2 ||w||^2,

    so grad L_i = loss'(z_i, y_i) x_i + l2 w and the Hessian of f is
    (1/N) sum_i loss''(z_i, y_i) x_i x_i^T + l2 I. The penalty sits in every L_i, so
    minibatch gradients stay unbiased for the penalized f.
    """

    l2: float = 0.0

    def loss(self, z, y):
        raise NotImplementedError

    def dloss(self, z, y):
        raise NotImplementedError

    def d2loss(self, z, y):
        raise NotImplementedError

    def per_example_losses(self, w, idx=None) -> np.ndarray:
        w = self._points(w, "w")
        X, y = self._rows(idx)
        penalty = self.l2 / 2 * np.sum(w * w, axis=-1)[..., None]
        return self.loss(w @ X.T, y) + penalty

    def per_example_grads(self, w, idx=None) -> np.ndarray:
        w = self._point(w, "w")
        X, y = self._rows(idx)
        return self.dloss(X @ w, y)[:, None] * X + self.l2 * w

    def grad(self, w) -> np.ndarray:
        """(1/N) X^T loss'(X w, y) + l2 w, for a stack of w as well."""
        w = self._points(w, "w")

        def block(rows):
            return self.dloss(rows @ self.X.T, self.y) @ self.X / self.N + self.l2 * rows

        return _blockwise(block, w, self.N)

    def hess(self, w) -> np.ndarray:
        w = self._point(w, "w")
        curvature = self.d2loss(self.X @ w, self.y)
        return (self.X.T * curvature) @ self.X / self.N + self.l2 * np.eye(self.dim)


def _covariance(d, kappa) -> np.ndarray:
    """Sigma: diagonal, with eigenvalues from 1 to kappa spaced evenly on a log scale."""
    d = _checks.positive_int("d", d)
    kappa = _condition_number("kappa", kappa)
    if d == 1 and kappa != 1:
        raise ValueError(f"kappa must be 1 when d = 1 (one eigenvalue); got {kappa!r}")
    return np.diag(np.geomspace(1.0, kappa, d))


def _gaussian_inputs(N, Sigma, rng) -> np.ndarray:
    """N rows x ~ N(0, Sigma), Sigma diagonal."""
    return rng.standard_normal((N, len(Sigma))) * np.sqrt(np.diag(Sigma))


class LinearRegression(_LinearModel):
    """Least squares: L_i(w) = 1/2 (x_i^T w - y_i)^2.

    The Hessian X^T X / N is constant; ``x_star`` is the least-squares solution (the
    one of least norm if X has dependent columns), ``f_star`` its empirical risk.
    Problems from :meth:`synthetic` also know their true risk (:meth:`risk`).
    """

    def __init__(self, X, y):
        super().__init__(X, y)
        self.name = f"linear regression (N={self.N}, d={self.dim})"
        self.x_star = _frozen(np.linalg.lstsq(self.X, self.y, rcond=None)[0])
        self.f_star = self.f(self.x_star)
        self.bounds = self._default_bounds()
        self.w_true = self.Sigma = self.noise_std = self.bayes_risk = None

    @classmethod
    def synthetic(cls, N, d, rng, noise_std=0.5, kappa=1.0, w_true=None) -> LinearRegression:
        """N examples of y = x^T w_true + noise, x ~ N(0, Sigma), noise ~ N(0, noise_std^2).

        Sigma is diagonal with eigenvalues spaced evenly on a log scale from 1 to
        ``kappa``: it is the Hessian of the risk, so ``kappa`` is the risk's condition
        number. ``w_true`` defaults to (1, ..., 1). Draws X, then the noise, from ``rng``.
        """
        N, Sigma, rng = _checks.positive_int("N", N), _covariance(d, kappa), _generator(rng)
        noise_std = _checks.nonnegative("noise_std", noise_std)
        w_true = np.ones(len(Sigma)) if w_true is None else _vector("w_true", w_true, len(Sigma))
        X = _gaussian_inputs(N, Sigma, rng)
        y = X @ w_true + noise_std * rng.standard_normal(N)
        problem = cls(X, y)
        problem.Sigma, problem.w_true = _frozen(Sigma), _frozen(w_true)
        problem.noise_std = noise_std
        problem.bayes_risk = noise_std**2 / 2
        return problem

    def loss(self, z, y):
        return (z - y) ** 2 / 2

    def dloss(self, z, y):
        return z - y

    def d2loss(self, z, y):
        return np.ones_like(z)

    def risk(self, w):
        """E 1/2 (x^T w - y)^2 = 1/2 (w - w_true)^T Sigma (w - w_true) + noise_std^2 / 2.

        The first term is the excess risk over the Bayes risk noise_std^2 / 2, the loss
        of the best possible predictor x^T w_true. Exact (no sampling).
        """
        if self.w_true is None:
            return super().risk(w)
        w = self._points(w, "w")
        e = w - self.w_true
        return _value(np.einsum("...i,ij,...j->...", e, self.Sigma, e) / 2 + self.bayes_risk, w)


class LogisticRegression(_LinearModel):
    """Logistic regression with labels y in {0, 1}: the negative log-likelihood

        L_i(w) = softplus(z_i) - y_i z_i = softplus(-(2 y_i - 1) z_i),  z_i = x_i^T w,

    of the model p(y = 1 | x) = sigmoid(x^T w), plus ``l2``/2 ||w||^2. The second form
    is the one computed: np.logaddexp keeps it accurate for any margin.

    ``x_star`` comes from Newton's method. On data that a hyperplane through the origin
    separates, and with ``l2 = 0``, there is no minimizer: f tends to 0 as ||w|| grows
    along a separating direction. Then ``x_star`` is None and ``f_star`` is 0, the
    infimum; any ``l2 > 0`` makes f strongly convex, with a unique minimizer.
    """

    def __init__(self, X, y, l2=0.0):
        super().__init__(X, y)
        if not np.isin(self.y, (0.0, 1.0)).all():
            raise ValueError("y must hold labels 0 and 1 only")
        self.l2 = _checks.nonnegative("l2", l2)
        self.name = f"logistic regression (N={self.N}, d={self.dim})"
        self._sign = 2 * self.y - 1  # the labels as -1 / +1
        self.w_true = self.Sigma = self.bayes_risk = None
        self.x_star, self.f_star = self._minimize()
        self.bounds = self._default_bounds()

    def _minimize(self):
        def separated(w):  # every margin positive: w separates the data
            return self.l2 == 0 and bool(np.all(self._sign * (self.X @ w) > 0))

        w, converged = _newton(self.f, self.grad, self.hess, np.zeros(self.dim), give_up=separated)
        if converged:
            return _frozen(w), self.f(w)
        if separated(w):
            return None, 0.0
        warnings.warn(
            "LogisticRegression: Newton's method did not converge; x_star and f_star are None",
            RuntimeWarning,
            stacklevel=3,
        )
        return None, None

    @classmethod
    def synthetic(cls, N, d, rng, kappa=1.0, w_true=None, l2=0.0) -> LogisticRegression:
        """N examples with x ~ N(0, Sigma) and p(y = 1 | x) = sigmoid(x^T w_true).

        Sigma is diagonal with eigenvalues from 1 to ``kappa``, log-spaced. ``w_true``
        defaults to a multiple of (1, ..., 1) scaled so that the logit x^T w_true has
        standard deviation 3: the best classifier then errs on about 16% of new examples,
        so a few hundred examples are not separable. Draws X, then the labels, from ``rng``.
        """
        N, Sigma, rng = _checks.positive_int("N", N), _covariance(d, kappa), _generator(rng)
        _checks.nonnegative("l2", l2)
        if w_true is None:
            w_true = 3 * np.ones(len(Sigma)) / math.sqrt(np.trace(Sigma))
        w_true = _vector("w_true", w_true, len(Sigma))
        X = _gaussian_inputs(N, Sigma, rng)
        y = (rng.random(N) < _sigmoid(X @ w_true)).astype(np.float64)
        problem = cls(X, y, l2=l2)
        problem.Sigma, problem.w_true = _frozen(Sigma), _frozen(w_true)
        problem.bayes_risk = problem.risk(w_true)
        return problem

    def loss(self, z, y):
        return _softplus(-(2 * y - 1) * z)

    def dloss(self, z, y):
        sign = 2 * y - 1
        return -sign * _sigmoid(-sign * z)  # sigmoid(z) - y, without cancellation

    def d2loss(self, z, y):
        return _sigmoid_slope(z)

    def zero_one_loss(self, w):
        """The training error: the fraction of examples with 1{x_i^T w > 0} != y_i."""
        w = self._points(w, "w")

        def block(rows):
            return ((rows @ self.X.T > 0) != (self.y > 0)).mean(axis=-1)

        return _value(_blockwise(block, w, self.N), w)

    # --- the true risk of a synthetic problem ------------------------------------------
    def _logits_moments(self, w):
        """Var(x^T w), Cov(x^T w, x^T w_true) and sd(x^T w_true) under x ~ N(0, Sigma)."""
        var_z = np.einsum("...i,ij,...j->...", w, self.Sigma, w)
        cov = w @ (self.Sigma @ self.w_true)
        sd_s = math.sqrt(self.w_true @ self.Sigma @ self.w_true)
        return var_z, cov, sd_s

    def risk(self, w):
        """The expected log-loss E[softplus(z) - y z] on new data, without the l2 term.

        z = x^T w and s = x^T w_true are jointly normal, and E[y | x] = sigmoid(s), so the
        risk is E softplus(z) - E[sigmoid(s) z]. The second term is
        Cov(z, s) E sigmoid'(s) by Stein's lemma, since z = (Cov(z, s) / Var s) s plus a
        part independent of s. That leaves two one-dimensional Gaussian integrals
        (:func:`_gaussian_mean`), accurate to about 1e-12.
        """
        if self.w_true is None:
            return super().risk(w)
        w = self._points(w, "w")
        var_z, cov, sd_s = self._logits_moments(w)
        sd_z = np.sqrt(np.maximum(var_z, 0.0))
        mean_slope = _gaussian_mean(_sigmoid_slope, np.array([sd_s]))[0]
        return _value(_gaussian_mean(_softplus, sd_z) - cov * mean_slope, w)

    def zero_one_risk(self, w):
        """The probability that the rule 1{x^T w > 0} misclassifies a new example.

        It depends on w only through the angle alpha between w and w_true in the inner
        product of Sigma (the rule ignores the length of w); w = 0 predicts 0 always and
        errs half the time. See :meth:`_error_at_angle` for the integral; it is
        evaluated through a Chebyshev interpolant in alpha, accurate to about 1e-12.
        """
        if self.w_true is None:
            return super().risk(w)
        w = self._points(w, "w")
        var_z, cov, sd_s = self._logits_moments(w)
        scale = np.sqrt(np.maximum(var_z, 0.0)) * sd_s
        cosine = np.divide(cov, scale, out=np.zeros_like(scale), where=scale > 0)
        alpha = np.arccos(np.clip(cosine, -1.0, 1.0))
        return _value(self._error_interpolant()(alpha), w)

    def _error_interpolant(self):
        if getattr(self, "_interpolant", None) is None:
            self._interpolant = np.polynomial.Chebyshev.interpolate(
                self._error_at_angle, deg=60, domain=[0.0, math.pi]
            )
        return self._interpolant

    def _error_at_angle(self, alpha):
        """The misclassification probability of a rule at angle alpha from w_true.

        Write x^T w = sd(x^T w) u and s = x^T w_true = sd_s (u cos alpha + t sin alpha),
        with u and t independent standard normals. The rule predicts 1 when u > 0, and by
        the symmetry (u, t) -> (-u, -t) its error P(y = 1, u <= 0) + P(y = 0, u > 0)
        equals 2 E[sigmoid(s) 1{u < 0}]. In polar
        coordinates (u, t) = r (cos theta, sin theta), with J(c) = integral over r > 0 of
        (sigmoid(c r) - 1/2) r exp(-r^2/2) = sqrt(pi/2) c E sigmoid'(c Z) (Stein again),

            error = 1/2 + (1/pi) * integral of J(sd_s cos psi) d psi
                    over pi/2 - alpha < psi < 3 pi/2 - alpha,

        a smooth integral, done by Gauss-Legendre quadrature.
        """
        sd_s = math.sqrt(self.w_true @ self.Sigma @ self.w_true)
        nodes, weights = np.polynomial.legendre.leggauss(64)  # on [-1, 1]
        alpha = np.asarray(alpha, dtype=np.float64)
        psi = np.pi - alpha[..., None] + nodes * (np.pi / 2)  # [pi/2 - alpha, 3 pi/2 - alpha]
        c = sd_s * np.cos(psi)
        J = math.sqrt(np.pi / 2) * c * _gaussian_mean(_sigmoid_slope, np.abs(c))
        return 0.5 + (J @ weights) / 2  # (1/pi) * (pi/2) * sum of weights * J


def _gaussian_mean(g, scales) -> np.ndarray:
    """E g(s Z), Z ~ N(0, 1), for each s in ``scales``, by the trapezoidal rule in Z.

    For g in the logistic family (softplus, sigmoid, sigmoid'), analytic in the strip
    |Im z| < pi, g(s u) exp(-u^2/2) is analytic for |Im u| < pi / s, and the trapezoidal
    rule with step h on the whole line then errs by about exp(-2 pi^2 / (s h)) (Trefethen
    & Weideman 2014): h = 0.5 / s gives exp(-39), below rounding, for any scale; the
    tails beyond |u| = 10 weigh less than 1e-22 s. Gauss-Hermite quadrature, the usual
    choice, converges slowly here for s above 2 or so (with 200 nodes it errs by 3e-5
    at s = 10), because the singularities of g(s u) come within pi / s of the real line.
    """
    scales = np.asarray(scales, dtype=np.float64)
    h = min(0.5, 0.5 / max(float(np.max(scales, initial=0.0)), 1e-300))
    u = h * np.arange(-math.ceil(10 / h), math.ceil(10 / h) + 1)
    weights = h * np.exp(-(u**2) / 2) / math.sqrt(2 * math.pi)
    flat = scales.reshape(-1, 1)
    rows = max(1, _BLOCK // len(u))
    blocks = range(0, max(len(flat), 1), rows)
    means = [g(flat[i : i + rows] * u) @ weights for i in blocks]
    return np.concatenate(means).reshape(scales.shape)


# --- a data set for a small network -------------------------------------------------------


def two_spirals(N, rng, noise=0.1, turns=1.5) -> tuple[np.ndarray, np.ndarray]:
    """N points on two interleaved spirals, labels 0 and 1 (Lang & Witbrock 1988).

    Each spiral winds ``turns`` times around the origin, its radius growing by 1 per
    turn; the second is the first turned by half a turn, so neighbouring arms of the
    two classes lie 1/2 apart, five noise standard deviations with the defaults. The
    position along a spiral is t = sqrt(U), U uniform on (0, 1), which spreads points
    evenly along its length; Gaussian noise of standard deviation ``noise`` is then
    added to each coordinate. Returns X of shape (N, 2) and y, integers in {0, 1}, half
    of each in random order. No line separates the classes; a small MLP can.
    """
    N = _checks.positive_int("N", N)
    rng = _generator(rng)
    noise = _checks.nonnegative("noise", noise)
    turns = _checks.positive("turns", turns)
    y = rng.permutation(np.arange(N) % 2)
    t = np.sqrt(rng.random(N))
    angle = 2 * np.pi * turns * t + np.pi * y
    X = (turns * t)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X += noise * rng.standard_normal((N, 2))
    return X, y


class Network(FiniteSum):
    """An MLP classifier on a data set, as a finite-sum problem of its flat parameters.

    f(theta) = (1/N) sum_i L_i(theta), L_i the cross-entropy of example (X[i], y[i])
    under ``mlp`` (an :class:`optimlib.nn.MLP` with ``loss="cross_entropy"``), so an
    optimizer trains the network exactly as it minimizes any other problem:
    ``minimize(Network(mlp, X, y, rng), opt, steps, batch_size=m, rng=...)``.

    The full gradient and the minibatch gradients come from the MLP's backpropagation on
    the chosen rows (one backward pass, not N per-example ones); ``per_example_grads``,
    needed only for :meth:`minibatch_variance`, takes one pass per example. The start
    ``x0`` is ``mlp.init_params(rng)``, a fresh random initialization, unless given.
    The minimizer and optimal value are unknown (``x_star`` and ``f_star`` are None).
    Batch normalization is refused: with it an example's loss depends on the others in
    its minibatch, so the objective is no longer a fixed sum.
    """

    def __init__(self, mlp, X, y, rng=None, x0=None):
        if not isinstance(mlp, _nn.MLP):
            raise ValueError(f"mlp must be an optimlib.nn.MLP; got {type(mlp).__name__}")
        if mlp.loss_name != "cross_entropy" or mlp.batch_norm:
            raise ValueError(
                f"mlp must be a classifier (loss='cross_entropy') without batch norm; got {mlp!r}"
            )
        labels = mlp._check_y(y, X)
        mlp._check_X(X, np.float64)
        super().__init__(X, labels)
        self.mlp, self.labels = mlp, _frozen(labels).astype(np.int64)
        self.labels.flags.writeable = False
        self.dim = mlp.num_params
        if x0 is None:
            if rng is None:
                raise ValueError("rng: a Network needs an rng to initialize x0 (or an x0)")
            x0 = mlp.init_params(_generator(rng))
        self.x0 = _frozen(_vector("x0", x0, self.dim))
        self.name = f"MLP {list(mlp.sizes)} on N={self.N} examples"

    def per_example_losses(self, w, idx=None) -> np.ndarray:
        X, labels = self._examples(idx)
        w = self._points(w, "w")
        flat = w.reshape(-1, self.dim)
        rows = np.arange(len(labels))
        losses = [-_nn.log_softmax(self.mlp.forward(t, X), axis=1)[rows, labels] for t in flat]
        return np.array(losses).reshape((*w.shape[:-1], len(labels)))

    def per_example_grads(self, w, idx=None) -> np.ndarray:
        X, labels = self._examples(idx)
        w = self._point(w, "w")
        return np.array([self.mlp.grad(w, X[i : i + 1], labels[i : i + 1]) for i in range(len(X))])

    def grad(self, w) -> np.ndarray:
        return self.mlp.grad(self._point(w, "w"), self.X, self.labels)

    def minibatch_grad(self, w, m, rng, reduction="mean") -> np.ndarray:
        """The MLP's gradient on m distinct random examples (times N with "sum")."""
        reduction = _reduction(reduction)
        X, labels = self._examples(self.sample_indices(m, rng))
        g = self.mlp.grad(self._point(w, "w"), X, labels)
        return self.N * g if reduction == "sum" else g

    def accuracy(self, w) -> float:
        """The fraction of the N examples whose predicted class is the label."""
        return self.mlp.accuracy(self._point(w, "w"), self.X, self.labels)

    def _examples(self, idx):
        X, _ = self._rows(idx)
        return X, self.labels if idx is None else self.labels[np.asarray(idx)]
