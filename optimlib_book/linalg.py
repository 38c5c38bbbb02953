"""Linear algebra the chapters share: the spectral radius of a matrix or of a stack."""

from __future__ import annotations

import numpy as np

__all__ = ["spectral_radius"]


def spectral_radius(matrices) -> float:
    """max |lambda| over the eigenvalues of a square matrix, or of every matrix of a stack
    (..., n, n): the growth (or contraction) per step of M^k, in the long run."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrices, dtype=np.float64)))))
