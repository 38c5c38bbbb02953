"""Landscapes to look at: the quadratic model and the hard landscapes of chapters 2, 5, 7.

* :class:`Quadratic`: the model of every local analysis; its condition number kappa
  sets the rate of gradient descent and of momentum (chapters 1, 2, 5).
* :class:`Rosenbrock`, :class:`Saddle`, :class:`Cliff`: a curved valley, a saddle point
  and an exploding gradient (chapters 2 and 7).
* :class:`CyclingExample`: a strongly convex function on which the heavy ball, tuned as
  for a quadratic, cycles forever (chapter 5).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ._base import (
    _EPS,
    Problem,
    _condition_number,
    _frozen,
    _generator,
    _kappa_max,
    _newton,
    _sigmoid,
    _sigmoid_slope,
    _softplus,
    _value,
    _vector,
)

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

    def amplification(self, b, db):
        """(||dx|| / ||x||) / (||db|| / ||b||): how much solving A x = b magnifies a relative
        change db of the data, measured by solving A (x + dx) = b + db. At most kappa,
        attained for b along the steepest eigenvector and db along the flattest. ``b`` and
        ``db`` have shape (dim,), or (..., dim) for many pairs (then an array)."""
        b = self._points(b, "b")
        db = self._points(db, "db")
        x = np.linalg.solve(self.A, b[..., None])[..., 0]
        dx = np.linalg.solve(self.A, (b + db)[..., None])[..., 0] - x
        size = lambda v: np.linalg.norm(v, axis=-1)  # noqa: E731
        return _value((size(dx) / size(x)) / (size(db) / size(b)), b)

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


# --- beyond quadratics: where the heavy ball's tuning fails ------------------------------


class CyclingExample(Problem):
    """A smooth, strongly convex function of one variable on which the heavy ball cycles.

    f'(x) = 25 x for x < 1, x + 24 for 1 <= x < 2, 25 x - 24 for x >= 2: the curvature is
    25, 1, 25 on the three pieces, so mu = 1, L = 25, kappa = 25; f is C^1, convex, with
    its minimum f* = 0 at x* = 0 (Lessard, Recht & Packard 2016, sec. 4.6). With the
    parameters that are optimal on quadratics of this kappa (``heavy_ball_optimal``:
    eps = 1/9, alpha = 4/9) the heavy ball started at the default x0 = 3.3 (with v = 0)
    falls into a cycle of period 3 and never converges; Nesterov's method converges.
    """

    name = "cycling example (kappa = 25)"
    dim = 1
    mu, L = 1.0, 25.0

    def __init__(self):
        self.x0 = _frozen([3.3])
        self.x_star = _frozen([0.0])
        self.f_star = 0.0

    def f(self, x):
        x = self._points(x)
        u = x[..., 0]
        low = 12.5 * u**2
        middle = 0.5 * u**2 + 24 * u - 12
        high = 12.5 * u**2 - 24 * u + 36
        return _value(np.where(u < 1, low, np.where(u < 2, middle, high)), x)

    def grad(self, x) -> np.ndarray:
        x = self._points(x)
        return np.where(x < 1, 25 * x, np.where(x < 2, x + 24, 25 * x - 24))

    def heavy_ball_optimal(self) -> tuple[float, float]:
        """(eps, alpha) of Quadratic.heavy_ball_optimal for mu = 1, L = 25: (1/9, 4/9)."""
        return Quadratic(np.diag([self.mu, self.L])).heavy_ball_optimal()


class Linear(Problem):
    """f(x) = g^T x: a constant gradient g everywhere, and no minimum (f is unbounded).

    The long slope on which momentum builds up speed, to a terminal velocity
    eps g / (1 - alpha) (chapter 5).
    """

    def __init__(self, g):
        g = _checks.float_array("g", g)
        if g.ndim != 1 or g.size == 0 or not np.isfinite(g).all():
            raise ValueError(f"g must be a finite vector of shape (dim,); got {g!r}")
        self.g, self.dim = _frozen(g), g.size
        self.x0 = _frozen(np.zeros(self.dim))
        self.name = "linear slope"

    def f(self, x):
        x = self._points(x)
        return _value(x @ self.g, x)

    def grad(self, x) -> np.ndarray:
        x = self._points(x)
        return np.broadcast_to(self.g, x.shape).copy()

    def hess(self, x) -> np.ndarray:
        return np.zeros((self.dim, self.dim))
