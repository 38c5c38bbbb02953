"""Chapter 14 (a real network on real data, beside torch.optim).

* :func:`load_digits` reads the 8x8 handwritten digits (1797 images) from the copy that
  ships with the book package (``data/digits.csv.gz``; ``data/DIGITS.md`` gives its
  source, citation and licence); :func:`split_digits` scales the pixels to [0, 1] and
  holds out a test set.
* :func:`batch_order` fixes every minibatch in advance, so that two libraries can be fed
  the same examples in the same order; :func:`train` is the loop that optimlib's MLP
  runs, recording losses and accuracies (:class:`Curves`) every few steps.
* :func:`torch_equivalent` says which ``torch.optim`` class, with which arguments, takes
  the same steps as an optimlib optimizer, and refuses where there is none (RMSProp and
  Adam with delta inside the root, a schedule); :func:`torch_train` is the same loop in
  PyTorch. :func:`compute_torch` runs it when torch is installed and otherwise reads the
  curves torch computed from :data:`TORCH_FILE` (``tests/book/test_real_data.py``
  reruns torch and compares), so the chapter prints the same with and without torch.
* :func:`compute_runs` is the chapter's experiment (numbers only); :func:`draw_curves`
  and :func:`draw_digits` draw it.

The chapter's experiment is :data:`EXPERIMENT`: one dictionary, so that the stored
torch curves can say which experiment they belong to.

Two decisions, and why:

* The digits ship with the book (57 KB, byte for byte scikit-learn's
  ``sklearn/datasets/data/digits.csv.gz``; CC BY 4.0 allows it with the attribution in
  ``data/DIGITS.md``) instead of coming from ``sklearn.datasets.load_digits``:
  scikit-learn would add SciPy, joblib, threadpoolctl and narwhals to every reader's
  environment for one small file. The tests compare the two where scikit-learn exists.
* torch is not a dependency of the book (``make book``, Binder, Python 3.13 without a
  CPU wheel, a student's environment), and importing it takes a third of a chapter's
  time budget: the chapter reads PyTorch's curves from :data:`TORCH_FILE` unless the
  reader asks for a live run, and its printed outputs are the same either way. After
  changing :data:`EXPERIMENT`, rewrite the file with
  ``python -c "from optimlib_book import real_data; real_data.write_torch_file()"``
  (the tests fail until then).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import optimlib as ol
from optimlib import _checks

__all__ = [
    "DIGITS_FILE",
    "DIGITS_SHA256",
    "EXPERIMENT",
    "TORCH_FILE",
    "Curves",
    "Split",
    "batch_order",
    "compare",
    "compute_runs",
    "compute_torch",
    "draw_curves",
    "draw_digits",
    "load_digits",
    "load_torch_file",
    "make_optimizer",
    "mapping_table",
    "split_digits",
    "torch_equivalent",
    "torch_train",
    "train",
    "write_torch_file",
]

DATA = Path(__file__).resolve().parent / "data"
DIGITS_FILE = DATA / "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
TORCH_FILE = DATA / "real_data_torch.json"

# The chapter's experiment. 1440 training images are 45 minibatches of 32, so every
# epoch has the same number of full minibatches; the other 357 are the test set.
# Learning rates: each method's own usual scale (PyTorch's default for Adam).
EXPERIMENT = {
    "sizes": [64, 32, 10],
    "activation": "relu",
    "test_size": 357,
    "split_seed": 0,
    "init_seed": 1,
    "order_seed": 2,
    "batch_size": 32,
    "epochs": 5,
    "eval_every": 15,
    "optimizers": {
        "SGD": ["SGD", {"lr": 0.2}],
        "Momentum": ["Momentum", {"lr": 0.02, "alpha": 0.9}],
        "Nesterov": ["Nesterov", {"lr": 0.02, "alpha": 0.9}],
        "RMSProp": ["RMSProp", {"lr": 0.003, "rho": 0.99, "delta": 1e-8, "delta_in_sqrt": False}],
        "Adam": ["Adam", {"lr": 0.005}],
    },
}


# --- the data ----------------------------------------------------------------------


def load_digits(path=None) -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images as rows of 64 integer pixels in 0..16, and their labels 0..9.

    The file is checked against :data:`DIGITS_SHA256` first: a damaged or replaced copy
    raises instead of training on something else.
    """
    path = DIGITS_FILE if path is None else Path(path)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if path == DIGITS_FILE and digest != DIGITS_SHA256:
        raise ValueError(f"{path}: SHA-256 {digest} is not the shipped file's {DIGITS_SHA256}")
    table = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",", dtype=np.int64)
    return table[:, :-1], table[:, -1]


@dataclass(frozen=True)
class Split:
    """Training and test examples: pixels scaled to [0, 1] (float64), integer labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def split_digits(X, y, test_size: int, seed: int) -> Split:
    """A random ``test_size`` images held out (a seeded permutation); pixels / 16."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, features) and y (N,); got {X.shape} and {y.shape}")
    if not 0 < test_size < len(y):
        raise ValueError(f"test_size must be in [1, {len(y) - 1}]; got {test_size}")
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:test_size], order[test_size:]
    scaled = X / 16.0
    return Split(scaled[train], y[train], scaled[test], y[test])


def batch_order(n: int, batch_size: int, epochs: int, seed: int) -> np.ndarray:
    """The examples of every minibatch, (steps, batch_size): each epoch a fresh random
    permutation of range(n), cut into n // batch_size minibatches (the rest dropped)."""
    n = _checks.positive_int("n", n)
    batch_size = _checks.positive_int("batch_size", batch_size)
    epochs = _checks.positive_int("epochs", epochs)
    if batch_size > n:
        raise ValueError(f"batch_size must be at most n = {n}; got {batch_size}")
    rng = np.random.default_rng(seed)
    per_epoch = n // batch_size
    batches = [rng.permutation(n)[: per_epoch * batch_size] for _ in range(epochs)]
    return np.concatenate(batches).reshape(-1, batch_size)


# --- training with optimlib ----------------------------------------------------------


@dataclass
class Curves:
    """Losses and accuracies recorded at ``steps`` (0 is the start), on the training and
    the test set; ``points`` are the parameters they were measured at (optional), and
    ``lookahead`` the same measured where the optimizer takes its gradient, when that
    is not theta (Nesterov's theta + alpha v, the variable PyTorch iterates)."""

    steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    points: np.ndarray | None = None
    lookahead: Curves | None = None

    FIELDS = ("train_loss", "test_loss", "train_acc", "test_acc")

    def to_dict(self) -> dict:
        """The curves as lists (JSON), without the parameters."""
        out = {"steps": self.steps.tolist()}
        out.update({name: getattr(self, name).tolist() for name in self.FIELDS})
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Curves:
        return cls(np.array(d["steps"]), *(np.array(d[name], dtype=float) for name in cls.FIELDS))

    @classmethod
    def from_rows(cls, steps, rows, points) -> Curves:
        return cls(np.array(steps), *np.array(rows, dtype=float).T, points=np.array(points))


def make_optimizer(name: str, experiment: dict | None = None) -> ol.Optimizer:
    """A fresh optimizer of ``experiment`` (:data:`EXPERIMENT`) by its name there."""
    specs = (EXPERIMENT if experiment is None else experiment)["optimizers"]
    _checks.choice("name", name, tuple(specs))
    cls, kwargs = specs[name]
    return getattr(ol, cls)(**kwargs)


def _measure(mlp, theta, split: Split) -> tuple[float, float, float, float]:
    """Training loss, test loss, training accuracy, test accuracy: one forward pass each
    set (what ``mlp.loss`` and ``mlp.accuracy`` compute, without a second pass)."""
    losses, accuracies = [], []
    for X, y in ((split.X_train, split.y_train), (split.X_test, split.y_test)):
        logits = mlp.forward(theta, X, training=False)
        losses.append(ol.nn.cross_entropy(logits, y))
        accuracies.append(float(np.mean(np.argmax(logits, axis=1) == y)))
    return (*losses, *accuracies)


def _has_lookahead(opt) -> bool:
    return type(opt).gradient_point is not ol.Optimizer.gradient_point


def _lookahead(opt, theta):
    return opt.gradient_point(theta, **opt.state) if opt.state else theta


def train(mlp, theta, opt, split: Split, order, eval_every: int) -> Curves:
    """Train ``mlp`` from ``theta`` with ``opt``, one minibatch per row of
    ``order``; measure every ``eval_every`` steps and at the end (also at the
    look-ahead point, for an optimizer that has one)."""
    eval_every = _checks.positive_int("eval_every", eval_every)
    opt.reset()
    steps, rows, points, ahead_rows, ahead_points = [], [], [], [], []
    for k in range(len(order) + 1):
        if k % eval_every == 0 or k == len(order):
            steps.append(k)
            rows.append(_measure(mlp, theta, split))
            points.append(theta)
            if _has_lookahead(opt):
                ahead = _lookahead(opt, theta)
                ahead_rows.append(_measure(mlp, ahead, split))
                ahead_points.append(ahead)
        if k < len(order):
            X, y = split.X_train[order[k]], split.y_train[order[k]]
            theta = opt.step(theta, lambda th, X=X, y=y: mlp.grad(th, X, y))
    curves = Curves.from_rows(steps, rows, points)
    if ahead_rows:
        curves.lookahead = Curves.from_rows(steps, ahead_rows, ahead_points)
    return curves


def _setup(experiment: dict, seed_shift: int = 0):
    X, y = load_digits()
    split = split_digits(X, y, experiment["test_size"], experiment["split_seed"])
    mlp = ol.nn.MLP(experiment["sizes"], activation=experiment["activation"])
    theta0 = mlp.init_params(np.random.default_rng(experiment["init_seed"] + seed_shift))
    order = batch_order(
        len(split.y_train),
        experiment["batch_size"],
        experiment["epochs"],
        experiment["order_seed"] + seed_shift,
    )
    return split, mlp, theta0, order


def compute_runs(experiment: dict | None = None, nudge: float = 0.0) -> dict:
    """Every optimizer of the experiment from the same theta_0 and minibatch order.

    Returns ``{"split", "mlp", "theta0", "order", "runs", "optimizers"}``: ``runs[name]``
    the :class:`Curves`, ``optimizers[name]`` the optimizer with its final state.
    ``nudge`` moves theta_0 by that much, relative, alternating in sign (as
    :mod:`optimlib_book.reproduce` does), to measure how the runs amplify rounding.
    """
    experiment = EXPERIMENT if experiment is None else experiment
    split, mlp, theta0, order = _setup(experiment)
    theta0 = theta0 * (1 + nudge * np.where(np.arange(theta0.size) % 2, 1.0, -1.0))
    optimizers = {name: make_optimizer(name, experiment) for name in experiment["optimizers"]}
    every = experiment["eval_every"]
    runs = {name: train(mlp, theta0, opt, split, order, every) for name, opt in optimizers.items()}
    return {
        "split": split,
        "mlp": mlp,
        "theta0": theta0,
        "order": order,
        "runs": runs,
        "optimizers": optimizers,
    }


# --- PyTorch -------------------------------------------------------------------------

# optimlib class -> (torch.optim class, {optimlib hyperparameter: PyTorch argument}).
# Nesterov before Momentum: it is a subclass. "betas[0]" is the first of Adam's betas.
_TORCH_NAMES = {
    "SGD": ("SGD", {"lr": "lr"}),
    "Nesterov": ("SGD", {"lr": "lr", "alpha": "momentum"}),
    "Momentum": ("SGD", {"lr": "lr", "alpha": "momentum"}),
    "AdaGrad": ("Adagrad", {"lr": "lr", "delta": "eps"}),
    "RMSProp": ("RMSprop", {"lr": "lr", "rho": "alpha", "delta": "eps"}),
    "Adam": ("Adam", {"lr": "lr", "rho1": "betas[0]", "rho2": "betas[1]", "delta": "eps"}),
}


def torch_equivalent(opt) -> tuple[str, dict]:
    """``(torch.optim class name, keyword arguments)`` that take ``opt``'s steps.

    Raises ``ValueError`` where PyTorch has no equivalent: a schedule (PyTorch's
    momentum would scale its whole buffer by the current rate), delta inside the root
    (RMSProp's default, the lecture's Adam), or a method torch.optim lacks.
    """
    name = type(opt).__name__
    if name not in _TORCH_NAMES:
        raise ValueError(f"opt: no torch.optim equivalent for {name}; known: {list(_TORCH_NAMES)}")
    if callable(opt.lr):
        raise ValueError("opt: a schedule has no one-to-one torch.optim equivalent; use a float lr")
    hyper = opt.hyperparameters()
    if hyper.get("delta_in_sqrt"):
        raise ValueError(
            f"opt: {name} with delta_in_sqrt=True computes sqrt(delta + r); torch.optim "
            f"computes sqrt(r) + delta: use delta_in_sqrt=False"
        )
    cls, names = _TORCH_NAMES[name]
    kwargs: dict = {}
    for ours, theirs in names.items():
        if theirs.startswith("betas"):
            kwargs.setdefault("betas", [None, None])[int(theirs[6])] = hyper[ours]
        else:
            kwargs[theirs] = hyper[ours]
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    if name in ("Momentum", "Nesterov"):
        kwargs["nesterov"] = name == "Nesterov"
    return cls, kwargs


def _call(cls: str, kwargs: dict) -> str:
    return f"{cls}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


# What the names alone do not say, per optimlib class.
_NOTES = {
    "SGD": "the same step",
    "Momentum": "PyTorch keeps b = -v/ε: the same iterates for a constant ε only",
    "Nesterov": "PyTorch iterates the look-ahead point φ = θ + αv, not θ",
    "AdaGrad": "δ outside the root in both; default δ 1e-07 here, eps 1e-10 there",
    "RMSProp": "δ outside only with delta_in_sqrt=False (optimlib's default is inside)",
    "Adam": "δ outside the root in both by default",
}


def mapping_table(optimizers) -> str:
    """A markdown table: each optimizer as optimlib writes it, the lecture's symbols it
    sets, the ``torch.optim`` call that takes the same steps, and what differs."""
    symbols = {"lr": "ε", "alpha": "α", "rho": "ρ", "rho1": "ρ₁", "rho2": "ρ₂", "delta": "δ"}
    lines = ["| optimlib | symbols | torch.optim | note |", "|---|---|---|---|"]
    for opt in optimizers:
        name = type(opt).__name__
        ours = _call(f"ol.{name}", opt.hyperparameters())
        used = ", ".join(v for k, v in symbols.items() if k in opt.hyperparameters())
        lines.append(f"| {ours} | {used} | {_call(*torch_equivalent(opt))} | {_NOTES[name]} |")
    return "\n".join(lines)


def torch_train(mlp, theta, opt, split: Split, order, eval_every: int) -> Curves:
    """:func:`train` in PyTorch, float64, on the same minibatches: ``nn.Linear``
    layers with optimlib's initial weights (W transposed), ``F.cross_entropy``,
    and the ``torch.optim`` class :func:`torch_equivalent` names. ``points``
    are PyTorch's parameters in optimlib's layout. One thread: the tensors are
    tiny, and more threads only wait for each other."""
    import torch

    cls, kwargs = torch_equivalent(opt)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        layers = []
        for params in mlp.unflatten(np.asarray(theta, dtype=np.float64)):
            linear = torch.nn.Linear(*params["W"].shape, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(params["W"].T.copy()))
                linear.bias.copy_(torch.from_numpy(params["b"].copy()))
            layers += [linear, torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])  # no ReLU after the last
        optimizer = getattr(torch.optim, cls)(model.parameters(), **kwargs)
        names = ("X_train", "y_train", "X_test", "y_test")
        data = {n: torch.from_numpy(getattr(split, n)) for n in names}
        batches = torch.from_numpy(np.asarray(order))
        steps, rows, points = [], [], []
        for k in range(len(order) + 1):
            if k % eval_every == 0 or k == len(order):
                steps.append(k)
                rows.append(_torch_measure(torch, model, data))
                points.append(_torch_flat(torch, model))
            if k < len(order):
                optimizer.zero_grad()
                X, y = data["X_train"][batches[k]], data["y_train"][batches[k]]
                torch.nn.functional.cross_entropy(model(X), y).backward()
                optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return Curves.from_rows(steps, rows, points)


def _torch_flat(torch, model) -> np.ndarray:
    """The parameters of the ``nn.Linear`` layers as optimlib's flat theta."""
    parts = [t for m in model[::2] for t in (m.weight.T.reshape(-1), m.bias)]
    return torch.cat(parts).detach().numpy().copy()


def _torch_measure(torch, model, data) -> list[float]:
    losses, accuracies = [], []
    with torch.no_grad():
        for part in ("train", "test"):
            logits, y = model(data[f"X_{part}"]), data[f"y_{part}"]
            losses.append(torch.nn.functional.cross_entropy(logits, y).item())
            accuracies.append((logits.argmax(dim=1) == y).double().mean().item())
    return losses + accuracies


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _torch_curves(experiment: dict) -> dict:
    split, mlp, theta0, order = _setup(experiment)
    return {
        name: torch_train(
            mlp, theta0, make_optimizer(name, experiment), split, order, experiment["eval_every"]
        )
        for name in experiment["optimizers"]
    }


def write_torch_file(path=None) -> None:
    """Run the experiment in PyTorch and store its curves (with the experiment and the
    torch version) in :data:`TORCH_FILE`, for readers without torch."""
    import torch

    curves = _torch_curves(EXPERIMENT)
    data = {
        "experiment": EXPERIMENT,
        "torch": torch.__version__,
        "curves": {name: c.to_dict() for name, c in curves.items()},
    }
    Path(TORCH_FILE if path is None else path).write_text(json.dumps(data, indent=1) + "\n")


def load_torch_file(path=None) -> dict:
    """The stored torch curves: ``{"experiment", "torch", "curves": {name: Curves}}``."""
    data = json.loads(Path(TORCH_FILE if path is None else path).read_text())
    data["curves"] = {name: Curves.from_dict(c) for name, c in data["curves"].items()}
    return data


def compute_torch(live: bool | None = None, experiment: dict | None = None) -> dict:
    """PyTorch's curves for ``experiment`` (:data:`EXPERIMENT`): computed now when torch
    is importable (``live=None``: whichever is possible), else read from
    :data:`TORCH_FILE`, which holds them for :data:`EXPERIMENT` only.

    Returns ``{"curves": {name: Curves}, "live": bool, "torch": version}``.
    """
    experiment = EXPERIMENT if experiment is None else experiment
    live = _torch_available() if live is None else live
    if live:
        import torch

        return {"curves": _torch_curves(experiment), "live": True, "torch": torch.__version__}
    stored = load_torch_file()
    if stored["experiment"] != json.loads(json.dumps(experiment)):
        raise ValueError(
            f"experiment: {TORCH_FILE.name} holds PyTorch's curves for ch.EXPERIMENT only; "
            f"install torch to run PyTorch on another experiment"
        )
    return {"curves": stored["curves"], "live": False, "torch": stored["torch"]}


def compare(ours: Curves, theirs: Curves) -> dict:
    """Largest relative difference of each recorded curve, and of the parameters when
    both carry them: ``max |a - b| / max |a|`` over the recorded points."""
    if not np.array_equal(ours.steps, theirs.steps):
        raise ValueError("ours, theirs: recorded at different steps")
    out = {}
    for name in Curves.FIELDS:
        a, b = getattr(ours, name), getattr(theirs, name)
        out[name] = float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
    if ours.points is not None and theirs.points is not None:
        diff = np.abs(ours.points - theirs.points).max(axis=1)
        out["points"] = float(np.max(diff / np.abs(ours.points).max(axis=1)))
    return out


# --- drawing -------------------------------------------------------------------------


def draw_digits(ax_row, X, y) -> None:
    """One image per Axes of ``ax_row`` (8x8, dark ink on white), its label as title."""
    for ax, image, label in zip(ax_row, X, y, strict=False):
        ax.imshow(np.reshape(image, (8, 8)), cmap="gray_r", vmin=0, vmax=16)
        ax.set_title(str(label))
        ax.set_axis_off()


def draw_curves(axes, runs: dict, per_epoch: int, torch_curves: dict | None = None) -> None:
    """Training loss (log scale) on ``axes[0]`` and test accuracy on ``axes[1]`` against
    epochs, one line per optimizer; PyTorch's values, if given, as open markers on top."""
    from . import plot

    for (name, curves), color, marker in zip(
        runs.items(), plot.PALETTE, plot.MARKERS, strict=False
    ):
        epochs = curves.steps / per_epoch
        axes[0].plot(epochs, curves.train_loss, color=color, label=name)
        axes[1].plot(epochs, curves.test_acc, color=color, label=name)
        theirs = (torch_curves or {}).get(name)
        if theirs is not None:
            style = {"color": color, "marker": marker, "linestyle": "none", "fillstyle": "none"}
            axes[0].plot(theirs.steps / per_epoch, theirs.train_loss, **style)
            axes[1].plot(theirs.steps / per_epoch, theirs.test_acc, **style)
    if torch_curves:
        axes[1].plot([], [], "o", color="0.3", fillstyle="none", label="PyTorch (markers)")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("training loss (cross-entropy)")
    axes[1].set_ylabel("test accuracy")
    for ax in axes:
        ax.set_xlabel("epoch")
