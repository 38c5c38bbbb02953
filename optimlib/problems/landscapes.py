"""Landscapes to look at: the quadratic model (chapters 1, 2, 5), a curved valley, a saddle,
a cliff (chapters 2, 7), a function on which the tuned heavy ball cycles (chapter 5)."""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from . import _base  # the helpers used once or twice, named with their module
from ._base import Problem, _frozen, _value, _vector


class Quadratic(Problem):
    """f(x) = 1/2 x^T A x - b^T x with A symmetric positive definite.

    x* solves A x = b; kappa = lambda_max / lambda_min sets the rate of first-order
    methods (Goodfellow et al. 2016, secs. 4.3.1, 8.2.1). Attributes: ``A``, ``b`` (0 if
    None), ``eigenvalues`` (ascending), ``eigenvectors`` (columns), ``mu``, ``L``,
    ``kappa``, ``x_star``, ``f_star``. Default start x0 = x* + 3 (-v_1 + v_2 - ...):
    every eigen-direction starts 3 away.
    """

    def __init__(self, A, b=None, x0=None):
        A = _checks.float_array("A", A).astype(np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(f"A must be a square matrix of shape (n, n); got shape {A.shape}")
        A = _checks.finite_array("A", A)
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
        if not eigenvalues[0] > self.dim * _base._EPS * eigenvalues[-1]:
            raise ValueError(
                f"A must be well enough conditioned for float64: its condition number "
                f"lambda_max / lambda_min must be below 1 / (dim eps) = "
                f"{1 / (self.dim * _base._EPS):.3g}; got {eigenvalues[-1] / eigenvalues[0]:.3g}"
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
        cls, kappa, dim=2, lam_min=1.0, angle=0.0, rng=None, b=None, spacing="log"
    ) -> Quadratic:
        """A quadratic whose Hessian has condition number exactly ``kappa``.

        Eigenvalues lam_min, kappa * lam_min and (dim > 2) ones between, spaced evenly on a
        log scale (``spacing="log"``) or a linear one (``"linear"``).
        Eigenvectors: the axes (smallest curvature along x) turned by ``angle``, or a
        random orthogonal matrix from ``rng``. ``b=None`` gives x* = (1, ..., 1).
        ``eigenvalues``/``eigenvectors`` are the exact ones used. kappa <= 1 / (10 dim
        eps_64): beyond, rounding in A exceeds a tenth of lambda_min.
        """
        dim = _checks.positive_int("dim", dim)
        kappa = _base._condition_number(kappa, dim, "dim")
        if kappa > _base._kappa_max(dim):
            raise ValueError(
                f"kappa must be a finite number in [1, 1 / (10 dim eps)] = "
                f"[1, {_base._kappa_max(dim):.3g}] for dim = {dim}: float64 cannot represent a "
                f"wider spectrum faithfully; got {kappa!r}"
            )
        lam_min = _checks.positive("lam_min", lam_min)
        angle = _checks.finite("angle", angle)
        spacing = _checks.choice("spacing", spacing, ("log", "linear"))
        if angle != 0 and (rng is not None or dim != 2):
            raise ValueError(
                f"angle must be 0 unless dim = 2 and rng is None (it turns 2-D problems; rng "
                f"turns any); got {angle!r}"
            )
        if rng is not None:
            Q = _random_orthogonal(dim, _base._generator(rng))
        else:
            c, s = math.cos(angle), math.sin(angle)
            Q = np.array([[c, -s], [s, c]]) if dim == 2 else np.eye(dim)
        spread = np.geomspace if spacing == "log" else np.linspace
        lam = spread(lam_min, kappa * lam_min, dim)  # its endpoints are exact
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

        Below 1 exactly when 0 < eps < 2 / L. ``eps`` may be an array.
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
        return 4 / (math.sqrt(self.L) + math.sqrt(self.mu)) ** 2, self.heavy_ball_rate() ** 2

    def heavy_ball_rate(self) -> float:
        """(sqrt(kappa) - 1) / (sqrt(kappa) + 1): the asymptotic contraction per step of
        the heavy ball with :meth:`heavy_ball_optimal` parameters (Polyak 1964).

        A repeated eigenvalue makes ||x_k - x*|| ~ k rate^k: early steps can overshoot.
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


class Rosenbrock(Problem):
    """f(x, y) = (a - x)^2 + b (y - x^2)^2 (Rosenbrock 1960).

    A curved valley along y = x^2; x* = (a, a^2), f* = 0; default start (-1.2, 1).
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
        x, u, v = _coordinates(self._points(x))
        return _value((self.a - u) ** 2 + self.b * (v - u**2) ** 2, x)

    def grad(self, x) -> np.ndarray:
        _, u, v = _coordinates(self._points(x))
        valley = v - u**2  # how far above the valley floor y = x^2
        return _gradient_2d(-2 * (self.a - u) - 4 * self.b * u * valley, 2 * self.b * valley)

    def hess(self, x) -> np.ndarray:
        _, u, v = _coordinates(self._points(x))
        h_uu = 2 - 4 * self.b * (v - u**2) + 8 * self.b * u**2
        return _hessian_2d(h_uu, -4 * self.b * u, np.full_like(u, 2 * self.b))


def _coordinates(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, u, v) for points x of shape (..., 2): u, v their two coordinates."""
    return x, x[..., 0], x[..., 1]


def _gradient_2d(g_u, g_v) -> np.ndarray:
    """The gradients (g_u, g_v) of a stack of 2-D points, shape (..., 2). A single point's
    by np.array: np.stack costs ten times as much, and the run loop asks at every step."""
    if np.ndim(g_u) == 0:
        return np.array([g_u, g_v])
    return np.stack([g_u, g_v], -1)


def _hessian_2d(h_uu, h_uv, h_vv) -> np.ndarray:
    """The Hessians [[h_uu, h_uv], [h_uv, h_vv]] of a stack of 2-D points, shape (..., 2, 2)."""
    return np.stack([np.stack([h_uu, h_uv], -1), np.stack([h_uv, h_vv], -1)], -2)


class Saddle(Problem):
    """f(x, y) = a/2 x^2 - b/2 y^2 + b/4 y^4.

    A saddle at the origin (Hessian diag(a, -b)); minima (0, +-1), f* = -b/4 (``minima``,
    ``x_star`` = (0, 1)). From (1, 1e-3) gradient descent lingers near the saddle, a
    plateau (Dauphin et al. 2014; Goodfellow et al. 2016, sec. 8.2.3).
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
        x, u, v = _coordinates(self._points(x))
        return _value(self.a / 2 * u**2 - self.b / 2 * v**2 + self.b / 4 * v**4, x)

    def grad(self, x) -> np.ndarray:
        _, u, v = _coordinates(self._points(x))
        return _gradient_2d(self.a * u, self.b * (v**3 - v))

    def hess(self, x) -> np.ndarray:
        _, u, v = _coordinates(self._points(x))
        return _hessian_2d(np.full_like(u, self.a), np.zeros_like(u), self.b * (3 * v**2 - 1))


class Cliff(Problem):
    """A gentle bowl cut by a cliff: the landscape of an exploding gradient.

    f(x, y) = c/2 ((x - x_c)^2 + (y - y_c)^2) + height * S(x), S a step from 1 to 0 with a
    face of constant slope height / width (``max_gradient_norm``, 200 by default) centred
    at ``position``, its edges rounded by softplus over ``softness``. Gradient descent
    with eps in [0.04, 0.2] lands on the face and is thrown ~eps * 200 away; clipping to
    norm 1 makes it a step down (Pascanu, Mikolov & Bengio 2013; Goodfellow et al. 2016,
    secs. 8.2.4, 10.11.1). A constant-slope face, wider than the steps, makes the landing
    dependable. ``x_star``: Newton's method from the bowl's centre.
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
        x_star, converged = _base._newton(self.f, self.grad, self.hess, self.center.copy())
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
        step = self.softness / self.width * (_base._softplus(bottom) - _base._softplus(top))
        bowl = self.curvature / 2 * np.sum((x - self.center) ** 2, axis=-1)
        return _value(bowl + self.height * step, x)

    def grad(self, x) -> np.ndarray:
        x = self._points(x)
        bottom, top = self._edges(x[..., 0])
        g = self.curvature * (x - self.center)
        g[..., 0] -= self.height / self.width * (_base._sigmoid(bottom) - _base._sigmoid(top))
        return g

    def hess(self, x) -> np.ndarray:
        x = self._points(x)
        bottom, top = self._edges(x[..., 0])
        H = np.broadcast_to(self.curvature * np.eye(2), (*x.shape[:-1], 2, 2)).copy()
        # sigma' is large at the two edges only
        bend = _base._sigmoid_slope(bottom) - _base._sigmoid_slope(top)
        H[..., 0, 0] += self.height / (self.width * self.softness) * bend
        return H


class CyclingExample(Problem):
    """A smooth, strongly convex function of one variable on which the heavy ball cycles.

    f'(x) = 25 x (x < 1), x + 24 (1 <= x < 2), 25 x - 24 (x >= 2): mu = 1, L = 25, x* = 0,
    f* = 0 (Lessard, Recht & Packard 2016, sec. 4.6). The heavy ball with the quadratic-
    optimal eps = 1/9, alpha = 4/9 from x0 = 3.3 cycles with period 3; Nesterov converges.
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
    """f(x) = g^T x, unbounded: momentum's terminal velocity is eps g / (1 - alpha)."""

    def __init__(self, g):
        g = _checks.finite_array("g", g)
        if g.ndim != 1 or g.size == 0:
            raise ValueError(f"g must be a finite vector of shape (dim,); got shape {g.shape}")
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
