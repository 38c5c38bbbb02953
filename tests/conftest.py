"""Shared fixtures: off-screen figures with a fresh Axes per test; torch kept as found."""

import matplotlib

matplotlib.use("Agg")  # before any test module imports pyplot

import matplotlib.pyplot as plt
import pytest
from hypothesis import settings

# `make other-cpu` reruns the properties under another CPU's rounding, and `make floors` and
# `make newest` under other versions: a difference shows in any example, so a fifth of the
# random examples suffices there (`make unit` runs them all).
settings.register_profile("other-cpu", max_examples=20)


@pytest.fixture
def ax():
    """A fresh Axes, closed after the test so figures do not pile up."""
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.fixture
def torch_default_dtype_unchanged():
    """Fail a test that leaves torch's global default dtype changed (it would leak)."""
    # Only the modules that compare with torch pay for importing it; where torch has no
    # wheel (make newest), those tests skip.
    torch = pytest.importorskip("torch")

    before = torch.get_default_dtype()
    yield
    after = torch.get_default_dtype()
    torch.set_default_dtype(before)
    assert after == before, f"a test changed torch's default dtype to {after}"
