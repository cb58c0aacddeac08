"""Small numpy helpers shared by the feature modules (numpy only, so fusion stays free of torch)."""

from __future__ import annotations

import numpy as np


def unit_rows(values: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows of ``values`` scaled to unit L2 norm (zero rows stay zero), computed in the input's dtype, as float32."""
    values = np.asarray(values)
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    return (values / np.maximum(norms, eps)).astype(np.float32)
