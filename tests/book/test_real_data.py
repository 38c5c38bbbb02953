"""Chapter 14's module: the shipped digits file, the split and minibatch order, the
training loop, the mapping to torch.optim, and the stored PyTorch curves.

The comparisons with PyTorch import torch through ``pytest.importorskip`` (as
tests/optimlib does): where torch has no wheel they skip, and the chapter reads the
stored curves, which the tests here check against a rerun wherever torch exists.
"""

from __future__ import annotations

import builtins
import copy
import gzip
import hashlib
import importlib.util

import numpy as np
import pytest

import optimlib as ol
from optimlib_book import real_data as ch
from optimlib_book import reproduce

# Digits per class in the UCI test set (optdigits.tes), as its description lists them.
UCI_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]

# Each library rounds every operation within 1.1e-16 relative, in its own order; these
# runs damp such differences (test_the_runs_damp_a_nudge measures it), so a loss that
# differs by more than 1e-12 between the libraries is a different computation.
CURVE_RTOL = 1e-12
# The parameters: RMSProp amplifies a nudge ~120 times on weights whose r is near 0
# (blank pixels; a 1e-12 nudge moved them by 1.2e-10), so rounding differences of
# 1e-16 may grow to ~1e-14 (measured against PyTorch: 8e-15); 1e-10 leaves 10^4 room.
POINT_RTOL = 1e-10


@pytest.fixture(scope="module")
def result():
    return ch.compute_runs()


@pytest.fixture(scope="module")
def small():
    """A two-epoch version of the experiment, for the reruns in PyTorch."""
    experiment = copy.deepcopy(ch.EXPERIMENT)
    experiment["epochs"] = 2
    return experiment


# --- the data ------------------------------------------------------------------------


def test_the_shipped_file_is_the_uci_test_set():
    assert hashlib.sha256(ch.DIGITS_FILE.read_bytes()).hexdigest() == ch.DIGITS_SHA256
    X, y = ch.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype.kind == "i" and X.min() == 0 and X.max() == 16
    assert np.bincount(y).tolist() == UCI_COUNTS
    assert (ch.DIGITS_FILE.parent / "DIGITS.md").read_text().count(ch.DIGITS_SHA256) == 1


def test_a_damaged_copy_is_refused(tmp_path, monkeypatch):
    copy_ = tmp_path / "digits.csv.gz"
    raw = gzip.decompress(ch.DIGITS_FILE.read_bytes()).replace(b"16,", b"15,", 1)
    copy_.write_bytes(gzip.compress(raw))
    monkeypatch.setattr(ch, "DIGITS_FILE", copy_)
    with pytest.raises(ValueError, match="SHA-256"):
        ch.load_digits()


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="no scikit-learn")
def test_scikit_learn_reads_the_same_arrays_from_the_same_bytes():
    from importlib.resources import files

    from sklearn.datasets import load_digits

    theirs = load_digits()
    X, y = ch.load_digits()
    np.testing.assert_array_equal(theirs.data, X)
    np.testing.assert_array_equal(theirs.target, y)
    shipped = files("sklearn.datasets.data").joinpath("digits.csv.gz").read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == ch.DIGITS_SHA256


def test_split_scales_and_partitions():
    X, y = ch.load_digits()
    split = ch.split_digits(X, y, test_size=357, seed=0)
    assert split.X_train.shape == (1440, 64) and split.X_test.shape == (357, 64)
    assert split.X_train.max() == 1.0 and split.X_train.min() == 0.0
    together = np.concatenate([split.X_train, split.X_test]) * 16
    rows = {tuple(r) for r in together.astype(int)}
    assert rows == {tuple(r) for r in X}  # every image once, in one of the two parts
    assert np.array_equal(np.bincount(np.concatenate([split.y_train, split.y_test])), UCI_COUNTS)
    with pytest.raises(ValueError, match="test_size"):
        ch.split_digits(X, y, test_size=0, seed=0)


def test_batch_order_is_a_permutation_per_epoch():
    order = ch.batch_order(100, 32, 3, seed=5)
    assert order.shape == (9, 32)
    for epoch in order.reshape(3, -1):
        assert len(set(epoch.tolist())) == 96  # 3 full batches, 4 examples left out
    assert np.array_equal(order, ch.batch_order(100, 32, 3, seed=5))
    with pytest.raises(ValueError, match="batch_size"):
        ch.batch_order(10, 32, 1, seed=0)
    with pytest.raises(ValueError, match="epochs"):
        ch.batch_order(100, 10, 0, seed=0)


# --- training with optimlib ----------------------------------------------------------


def test_train_records_what_mlp_loss_and_accuracy_give(result):
    mlp, split, theta0 = result["mlp"], result["split"], result["theta0"]
    curves = ch.train(mlp, theta0, ol.SGD(lr=0.1), split, result["order"][:20], eval_every=7)
    assert curves.steps.tolist() == [0, 7, 14, 20]
    for j, theta in enumerate(curves.points):
        assert curves.train_loss[j] == pytest.approx(
            mlp.loss(theta, split.X_train, split.y_train), rel=1e-14
        )
        assert curves.test_acc[j] == mlp.accuracy(theta, split.X_test, split.y_test)
    assert curves.lookahead is None
    # the loop took exactly optimlib's steps, minibatch after minibatch
    theta = theta0
    for batch in result["order"][:20]:
        theta = theta - 0.1 * mlp.grad(theta, split.X_train[batch], split.y_train[batch])
    np.testing.assert_allclose(curves.points[-1], theta, rtol=1e-13, atol=1e-15)


def test_every_optimizer_learns_and_nesterov_records_its_lookahead(result):
    runs = result["runs"]
    assert set(runs) == set(ch.EXPERIMENT["optimizers"])
    for curves in runs.values():
        assert curves.train_loss[-1] < 0.25 * curves.train_loss[0]
        assert curves.test_acc[-1] > 0.9
    nesterov, opt = runs["Nesterov"], result["optimizers"]["Nesterov"]
    theta, phi = nesterov.points[-1], nesterov.lookahead.points[-1]
    np.testing.assert_allclose(phi, theta + opt.alpha * opt.state["v"], rtol=1e-15)


def test_the_runs_damp_a_nudge(result):
    """A 1e-12 relative nudge of theta_0 moves every loss by less than 1e-12 and no
    prediction: the printed digits and accuracies hold on any machine's rounding."""
    nudged = ch.compute_runs(nudge=reproduce.NUDGE)
    for name, curves in result["runs"].items():
        diff = ch.compare(curves, nudged["runs"][name])
        assert diff["train_loss"] < CURVE_RTOL and diff["test_loss"] < CURVE_RTOL, name
        assert diff["train_acc"] == 0 and diff["test_acc"] == 0, name
        assert diff["points"] < 1000 * reproduce.NUDGE, name  # amplification < 1000


# --- the mapping to torch.optim ------------------------------------------------------


def test_torch_equivalent_names_pytorchs_arguments():
    assert ch.torch_equivalent(ol.SGD(lr=0.1)) == ("SGD", {"lr": 0.1})
    assert ch.torch_equivalent(ol.Momentum(lr=0.1, alpha=0.8)) == (
        "SGD",
        {"lr": 0.1, "momentum": 0.8, "nesterov": False},
    )
    assert ch.torch_equivalent(ol.Nesterov(lr=0.1, alpha=0.8))[1]["nesterov"] is True
    assert ch.torch_equivalent(ol.AdaGrad(lr=0.1)) == ("Adagrad", {"lr": 0.1, "eps": 1e-7})
    assert ch.torch_equivalent(ol.RMSProp(lr=0.1, rho=0.9, delta_in_sqrt=False)) == (
        "RMSprop",
        {"lr": 0.1, "alpha": 0.9, "eps": 1e-6},
    )
    assert ch.torch_equivalent(ol.Adam(lr=0.1, rho1=0.8, rho2=0.99, delta=1e-7)) == (
        "Adam",
        {"lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-7},
    )


def test_torch_equivalent_refuses_what_torch_cannot_do():
    with pytest.raises(ValueError, match="delta_in_sqrt"):
        ch.torch_equivalent(ol.RMSProp(lr=0.1))  # optimlib's default: inside the root
    with pytest.raises(ValueError, match="delta_in_sqrt"):
        ch.torch_equivalent(ol.Adam(delta_in_sqrt=True))
    with pytest.raises(ValueError, match="schedule"):
        ch.torch_equivalent(ol.Momentum(lr=lambda k: 0.1 / (k + 1)))
    with pytest.raises(ValueError, match=r"no torch\.optim equivalent"):
        ch.torch_equivalent(ol.Nadam())


def test_mapping_table_has_a_row_per_optimizer():
    optimizers = [ol.SGD(lr=0.1), ol.RMSProp(lr=0.01, delta_in_sqrt=False)]
    lines = ch.mapping_table(optimizers).splitlines()
    assert len(lines) == 4
    assert "RMSprop(lr=0.01, alpha=0.9, eps=1e-06)" in lines[3] and "ρ" in lines[3]


def test_stored_torch_curves_belong_to_the_experiment():
    stored = ch.load_torch_file()
    assert stored["experiment"] == ch.EXPERIMENT
    assert set(stored["curves"]) == set(ch.EXPERIMENT["optimizers"])
    offline = ch.compute_torch(live=False)
    assert offline["live"] is False and offline["torch"] == stored["torch"]
    other = copy.deepcopy(ch.EXPERIMENT)
    other["epochs"] = 1
    with pytest.raises(ValueError, match="install torch"):
        ch.compute_torch(live=False, experiment=other)


def test_stored_torch_curves_agree_with_optimlib(result):
    """What the chapter checks where torch is missing: optimlib's live runs against
    PyTorch's stored curves (at the look-ahead point for Nesterov)."""
    stored = ch.load_torch_file()["curves"]
    for name, ours in result["runs"].items():
        diff = ch.compare(ours.lookahead or ours, stored[name])
        assert diff["train_loss"] < CURVE_RTOL and diff["test_loss"] < CURVE_RTOL, name
        assert diff["train_acc"] == 0 and diff["test_acc"] == 0, name


def test_without_torch_the_stored_curves_are_used(monkeypatch):
    """An environment where ``import torch`` fails: compute_torch reads the file."""
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch hidden by the test")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    out = ch.compute_torch()
    assert out["live"] is False
    assert set(out["curves"]) == set(ch.EXPERIMENT["optimizers"])


# --- against PyTorch itself ----------------------------------------------------------


@pytest.mark.usefixtures("torch_default_dtype_unchanged")
def test_a_torch_rerun_reproduces_the_stored_curves():
    """The stored file is what PyTorch computes for the experiment now (rerun it with
    ``real_data.write_torch_file()`` when the experiment changes)."""
    pytest.importorskip("torch")
    live = ch.compute_torch(live=True)["curves"]
    stored = ch.load_torch_file()["curves"]
    for name in ch.EXPERIMENT["optimizers"]:
        diff = ch.compare(live[name], stored[name])
        assert diff["train_loss"] < CURVE_RTOL and diff["test_acc"] == 0, name


@pytest.mark.usefixtures("torch_default_dtype_unchanged")
@pytest.mark.parametrize("name", list(ch.EXPERIMENT["optimizers"]))
def test_torch_takes_optimlibs_steps(small, name):
    """PyTorch's parameters at every recorded step are optimlib's (at the look-ahead
    point for Nesterov), within the stated tolerances, on a two-epoch run."""
    pytest.importorskip("torch")
    split, mlp, theta0, order = ch._setup(small)
    ours = ch.train(mlp, theta0, ch.make_optimizer(name, small), split, order, 15)
    theirs = ch.torch_train(mlp, theta0, ch.make_optimizer(name, small), split, order, 15)
    diff = ch.compare(ours.lookahead or ours, theirs)
    assert diff["points"] < POINT_RTOL, diff
    assert diff["train_loss"] < CURVE_RTOL and diff["test_acc"] == 0, diff


@pytest.mark.usefixtures("torch_default_dtype_unchanged")
def test_theta_from_pytorchs_nesterov_state(small):
    """theta = phi + alpha eps b: PyTorch's parameters and momentum buffer give optimlib's
    theta (the chapter's exercise), and its parameters are not theta themselves."""
    torch = pytest.importorskip("torch")
    split, mlp, theta0, order = ch._setup(small)
    opt = ch.make_optimizer("Nesterov", small)
    ours = ch.train(mlp, theta0, opt, split, order, len(order))
    eps, alpha = opt.lr, opt.alpha
    params = torch.from_numpy(theta0.copy()).requires_grad_(True)
    theirs = torch.optim.SGD([params], lr=eps, momentum=alpha, nesterov=True)
    for batch in order:
        theirs.zero_grad()
        params.grad = torch.from_numpy(
            mlp.grad(params.detach().numpy(), split.X_train[batch], split.y_train[batch])
        )
        theirs.step()
    phi = params.detach().numpy()
    b = theirs.state[params]["momentum_buffer"].numpy()
    theta = ours.points[-1]
    np.testing.assert_allclose(phi + alpha * eps * b, theta, rtol=0, atol=1e-12)
    assert np.max(np.abs(phi - theta)) > 1e-3


def test_bad_input_raises():
    with pytest.raises(ValueError, match="name"):
        ch.make_optimizer("Lion")
    a = ch.Curves(np.arange(3), *np.ones((4, 3)))
    b = ch.Curves(np.arange(1, 4), *np.ones((4, 3)))
    with pytest.raises(ValueError, match="different steps"):
        ch.compare(a, b)
    with pytest.raises(ValueError, match="eval_every"):
        ch.train(None, None, ol.SGD(0.1), None, np.zeros((1, 1), int), eval_every=0)


def test_draw_curves_and_digits(result, ax):
    import matplotlib.pyplot as plt

    runs = {"SGD": result["runs"]["SGD"]}
    fig, axes = plt.subplots(1, 2)
    ch.draw_curves(axes, runs, 45, ch.load_torch_file()["curves"])
    assert len(axes[0].lines) == 2 and axes[0].get_yscale() == "log"
    assert [t.get_text() for t in axes[1].legend().get_texts()] == ["SGD", "PyTorch (markers)"]
    plt.close(fig)
    X, y = ch.load_digits()
    ch.draw_digits([ax], X[:1], y[:1])
    assert ax.get_title() == str(y[0]) and len(ax.images) == 1 and not ax.axison
