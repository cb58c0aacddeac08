"""Is a difference larger than the noise of the seeds it was averaged over? A difference of seed means is *within
seed noise* (its sign could flip with other seeds or another CPU) when its confidence interval contains zero: given
directly, or ``mean +- k * sd / sqrt(n)`` from per-seed paired differences with ``k`` = :data:`DEFAULT_K`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

#: Standard errors a difference must exceed to count as decided (two: about a 95% interval).
DEFAULT_K = 2.0


@dataclass(frozen=True)
class NoiseVerdict:
    """A difference, the noise it is judged against (half-width of its interval) and the verdict."""

    difference: float
    noise: float
    within_noise: bool

    @property
    def sign(self) -> int:
        """+1 or -1 when the difference is decided, 0 when it is within seed noise."""
        return 0 if self.within_noise else (1 if self.difference > 0 else -1)

    def describe(self, digits: int = 3) -> str:
        """The difference as signed text, with "within seed noise" appended when it is (for headline sentences)."""
        text = f"{self.difference:+.{digits}f}"
        return f"{text} (within seed noise, ±{self.noise:.{digits}f})" if self.within_noise else text


def within_seed_noise(difference: float, *, sd: float | None = None, n: int | None = None,
                      interval: tuple[float, float] | None = None, k: float = DEFAULT_K) -> NoiseVerdict:
    """Judge ``difference`` (of seed means) against its seed noise, from either ``interval`` = (low, high) or ``sd``
    and ``n`` (within noise when ``|difference| <= k * sd / sqrt(n)``). NaN, or one seed, is within noise; an
    infinite difference is decided unless the noise is infinite too."""
    if (interval is None) == (sd is None):
        raise ValueError("within_seed_noise: give either interval=(low, high) or sd= and n=, not both or neither")
    if not k >= 0:
        raise ValueError(f"within_seed_noise: k must be >= 0, got {k}")
    difference = float(difference)
    if interval is not None:
        low, high = (float(v) for v in interval)
        if not low <= high:
            raise ValueError(f"within_seed_noise: interval low {low} is above high {high}")
        noise = (high - low) / 2
        within = math.isnan(difference) or low <= 0 <= high
        return NoiseVerdict(difference, noise, within)
    if n is None or n < 1:
        raise ValueError(f"within_seed_noise: n must be a number of seeds >= 1, got {n}")
    if not sd >= 0:
        raise ValueError(f"within_seed_noise: sd must be >= 0, got {sd}")
    noise = k * float(sd) / math.sqrt(n) if n > 1 else math.inf
    within = math.isnan(difference) or abs(difference) <= noise
    return NoiseVerdict(difference, noise, within)


def paired_verdict(per_seed_differences: Iterable[float], k: float = DEFAULT_K) -> NoiseVerdict:
    """:func:`within_seed_noise` of the mean of per-seed differences (both sides on the same seed's split), with
    their standard deviation (``ddof=1``) and count. Infinite per-seed values (a QNC that one seed never reaches) make
    the verdict within noise when the seeds disagree about finiteness."""
    values = np.asarray(list(per_seed_differences), dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("paired_verdict: no per-seed difference (all missing)")
    finite = np.isfinite(values)
    if not finite.all():
        if finite.any() or len(set(np.sign(values))) > 1:
            return NoiseVerdict(float(np.mean(values[finite])) if finite.any() else float("nan"), math.inf, True)
        return NoiseVerdict(float(values[0]), 0.0, False)  # every seed infinite with one sign: decided
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return within_seed_noise(float(values.mean()), sd=sd, n=int(values.size), k=k)


def noise_aware_count(verdicts: Mapping[str, NoiseVerdict]) -> dict:
    """Split named verdicts into ``above`` (decided positive), ``below`` (decided negative) and ``within_noise``
    (names, in the given order), so a headline counts only decided items and names the rest."""
    groups: dict[str, list[str]] = {"above": [], "below": [], "within_noise": []}
    for name, verdict in verdicts.items():
        groups["above" if verdict.sign > 0 else "below" if verdict.sign < 0 else "within_noise"].append(name)
    return groups


def verdicts_against(frame, baseline, *, item: str = "router", metric: str = "Ps", seed: str = "seed",
                     k: float = DEFAULT_K) -> dict[str, NoiseVerdict]:
    """For every ``item`` value of a per-seed table other than ``baseline``: the :func:`paired_verdict` of its
    ``metric`` minus the baseline's on the same seeds (e.g. routers vs ``"best_single"`` on ``Ps``, notebook 3).
    ``ValueError`` when ``baseline`` has no rows or an item shares no seed with it."""
    per_seed = frame.pivot_table(index=seed, columns=item, values=metric, aggfunc="mean")
    if baseline not in per_seed.columns:
        raise ValueError(f"verdicts_against: no {item} {baseline!r} in the table (has {sorted(per_seed.columns)})")
    verdicts = {}
    for name in per_seed.columns:
        if name == baseline:
            continue
        differences = (per_seed[name] - per_seed[baseline]).dropna()
        if differences.empty:
            raise ValueError(f"verdicts_against: {item} {name!r} shares no {seed} with {baseline!r}")
        verdicts[name] = paired_verdict(differences, k=k)
    return verdicts


def verdicts_between(frame, column: str, better, others, *, item: str = "router", metric: str = "nAUC_shared",
                     seed: str = "seed", k: float = DEFAULT_K) -> dict[str, NoiseVerdict]:
    """For every ``item``: is its ``metric`` at ``column == better`` above every ``column`` value in ``others`` (e.g.
    mode 22 vs 11 and 33, notebook 4)? A decided loss if below one beyond noise (the clearest), a decided win if above
    all beyond noise (the narrowest), else within noise. Items without all the values are left out."""
    verdicts = {}
    for name, part in frame.groupby(item, sort=True):
        wide = part.pivot_table(index=seed, columns=column, values=metric, aggfunc="mean")
        if better not in wide.columns or any(other not in wide.columns for other in others):
            continue
        pair = [paired_verdict((wide[better] - wide[other]).dropna(), k=k) for other in others]
        losses = [v for v in pair if v.sign < 0]
        narrowest = min(pair, key=lambda v: v.difference)
        if losses:
            verdicts[name] = min(losses, key=lambda v: v.difference)
        elif all(v.sign > 0 for v in pair):
            verdicts[name] = narrowest
        else:
            verdicts[name] = NoiseVerdict(narrowest.difference, narrowest.noise, True)
    return verdicts
