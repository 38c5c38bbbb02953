"""Shared fixtures: figures are drawn off-screen, one fresh Axes per test."""

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
