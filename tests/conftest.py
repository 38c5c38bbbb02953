"""Shared fixtures: off-screen figures with a fresh Axes per test; torch kept as found."""

import matplotlib

matplotlib.use("Agg")  # before any test module imports pyplot

import matplotlib.pyplot as plt
import pytest


@pytest.fixture
def ax():
    """A fresh Axes, closed after the test so figures do not pile up."""
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.fixture
def torch_default_dtype_unchanged():
    """Fail a test that leaves torch's global default dtype changed (it would leak)."""
    import torch  # only the modules that compare with torch pay for importing it

    before = torch.get_default_dtype()
    yield
    after = torch.get_default_dtype()
    torch.set_default_dtype(before)
    assert after == before, f"a test changed torch's default dtype to {after}"
