"""The routing decision rule shared by the budget sweep and single-query routing (paper Sec. 3, the decision a*).

Budget ``t`` (official threshold rule): the highest ``U`` with ``P <= t``, else the cheapest predicted model (official
code: model 0); weight ``lam`` (the paper's): ``argmax_k U - lam * P``. Ties: lower predicted cost, then lower index
(``ties="index"``: lower index only, as the official ``argmax``)."""

from __future__ import annotations

import numpy as np


def _as_2d(name: str, array) -> np.ndarray:
    array = np.asarray(array, dtype=float)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} must be an (n x K) array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; predictions must be finite")
    return array


FALLBACKS = ("cheapest", "first")
TIE_BREAKS = ("cheapest", "index")


def choose_models(U, P, *, budget: float | None = None, lam: float | None = None, fallback: str = "cheapest",
                  ties: str = "cheapest") -> np.ndarray:
    """Each row's chosen model index by the threshold rule (``budget``) or the lambda rule (``lam``), exactly one
    given; ``fallback="first"`` sends unaffordable rows to model 0 and ``ties="index"`` breaks ties by index alone (the
    official code; defaults: the cheapest predicted model)."""
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    if ties not in TIE_BREAKS:
        raise ValueError(f"ties must be one of {TIE_BREAKS}, got {ties!r}")
    if (budget is None) == (lam is None):
        raise ValueError("give exactly one of budget= (threshold rule) or lam= (lambda rule)")
    U = _as_2d("U", U)
    P = _as_2d("P", P)
    if U.shape != P.shape:
        raise ValueError(f"U and P must have the same shape, got {U.shape} and {P.shape}")
    n, k = U.shape
    # lexsort keys, last is primary: the best model is the last in the order (score asc, cost desc, index desc).
    if lam is not None:
        score = U - float(lam) * P
    else:
        score = np.where(float(budget) >= P, U, -np.inf)
    index = -np.arange(k)[None, :].repeat(n, 0)
    order = np.lexsort((index, -P, score) if ties == "cheapest" else (index, score), axis=1)
    best = order[:, -1]
    if budget is not None:
        none_affordable = ~np.any(float(budget) >= P, axis=1)
        if np.any(none_affordable):
            if fallback == "first":
                cheapest = np.zeros(n, dtype=np.int64)
            else:
                cheapest = np.lexsort((np.arange(k)[None, :].repeat(n, 0), P), axis=1)[:, 0]
            best = np.where(none_affordable, cheapest, best)
    return best.astype(np.int64)
