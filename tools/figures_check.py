"""``make check-figures``: the committed figures and tables must be a pure function of the code.

:func:`regenerate` runs every notebook that ``make figures`` runs, at full size, from a clean state: a fresh data
folder (``MMR_DATA_DIR``), an empty cache (``MMR_CACHE_DIR``) and its own output folder, all in a temporary
directory, so nothing left over from earlier runs can leak in and nothing in the working tree is touched.
:func:`compare_outputs` then compares every table (CSV and Markdown) with the committed one, as exact text by
default, and checks that the same set of figure files was produced. Figures themselves (PNG/PDF) are not compared
byte for byte: their bytes depend on font and renderer versions, while the tables hold every number they plot.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmr_utils import paths

TABLE_SUFFIXES = (".csv", ".md")
FIGURE_SUFFIXES = (".png", ".pdf")


def figure_notebooks(notebooks: Path = paths.NOTEBOOKS) -> list[tuple[Path, Path]]:
    """(notebook source, full-size parameters file) for every notebook ``make figures`` runs, in reading order."""
    pairs = []
    for params in sorted((notebooks / "params").glob("*.full.yaml")):
        source = notebooks / f"{params.name[: -len('.full.yaml')]}.py"
        if not source.is_file():
            raise FileNotFoundError(f"{params} has no notebook {source.name} beside it")
        pairs.append((source, params))
    return pairs


def regenerate(work: Path, *, python: str = sys.executable, log=print) -> Path:
    """Run every figure notebook into ``work/figures`` from a clean state under ``work``; return that folder.

    Raises ``RuntimeError`` naming the notebook (and its executed copy) that failed.
    """
    work = Path(work)
    out, executed = work / "figures", work / "notebooks"
    from mmr_utils.numerics import pinned_environment

    env = {**pinned_environment(), "MMR_DATA_DIR": str(work / "data"), "MMR_CACHE_DIR": str(work / "cache"),
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
           "TOKENIZERS_PARALLELISM": "false"}
    for source, params in figure_notebooks():
        started = time.perf_counter()
        target = executed / f"{source.stem}.ipynb"
        command = [python, "-m", "tools", "run-notebook", str(source), "--params", str(params),
                   "--out", str(target), "-p", "out_dir", str(out)]
        done = subprocess.run(command, env=env, cwd=paths.ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-3000:]
            raise RuntimeError(f"check-figures: notebook {source.stem} failed (executed copy: {target}):\n{tail}")
        log(f"check-figures: {source.stem} regenerated in {time.perf_counter() - started:.0f} s")
    return out


@dataclass
class CellMove:
    """One numeric table cell that differs from the committed value, and the tolerance it was judged against."""

    table: str
    line: int
    column: str
    committed: float
    regenerated: float
    tolerance: float

    @property
    def delta(self) -> float:
        if math.isinf(self.committed) or math.isinf(self.regenerated):
            return math.inf
        return abs(self.regenerated - self.committed)

    @property
    def within(self) -> bool:
        return self.delta <= self.tolerance


@dataclass
class Comparison:
    """The outcome of comparing regenerated outputs with the committed ones: ``mode`` is ``exact`` (text must match)
    or ``tolerance`` (numeric cells may move within their seed-noise tolerance; ``moves`` lists every moved cell,
    ``headline_changes`` every computed claim decided the other way), with ``reasons`` for the mode."""

    compared: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    mode: str = "exact"
    reasons: list[str] = field(default_factory=list)
    moves: list[CellMove] = field(default_factory=list)
    headline_changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        """How many cells moved, within and beyond tolerance, and by how much (tolerance mode)."""
        if self.mode == "exact":
            return f"{len(self.compared)} tables compared as exact text"
        beyond = [m for m in self.moves if not m.within]
        finite = [m.delta for m in self.moves if math.isfinite(m.delta)]
        largest = f", largest finite move {max(finite):.3g}" if finite else ""
        return (f"{len(self.compared)} tables compared within seed-noise tolerance: {len(self.moves)} numeric cells "
                f"moved ({len(self.moves) - len(beyond)} within tolerance, {len(beyond)} beyond{largest}); "
                f"{len(self.headline_changes)} headline changes")


def _numbers_close(expected: str, actual: str, tolerance: float) -> bool:
    try:
        a, b = float(expected), float(actual)
    except ValueError:
        return False
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance


def _table_differences(name: str, expected: str, actual: str, tolerance: float, limit: int = 5) -> list[str]:
    """Differences between two table texts: line by line; with ``tolerance`` > 0, numeric CSV cells within it agree."""
    exp_lines, act_lines = expected.splitlines(), actual.splitlines()
    if len(exp_lines) != len(act_lines):
        return [f"{name}: {len(act_lines)} lines regenerated, {len(exp_lines)} committed"]
    found = []
    for line_no, (exp, act) in enumerate(zip(exp_lines, act_lines), start=1):
        if exp == act:
            continue
        if tolerance > 0 and name.endswith(".csv"):
            exp_cells, act_cells = exp.split(","), act.split(",")
            if len(exp_cells) == len(act_cells) and all(
                e == a or _numbers_close(e, a, tolerance) for e, a in zip(exp_cells, act_cells)
            ):
                continue
        found.append(f"{name}, line {line_no}: committed {exp[:160]!r}, regenerated {act[:160]!r}")
        if len(found) >= limit:
            found.append(f"{name}: (further differing lines not shown)")
            break
    return found


# ------------------------------------------------------------------------------------------- tolerance on another CPU
#: A cell may move by this many standard deviations of the difference between two training draws of it.
NOISE_K = 3.0
#: Moves up to this size are rounding, whatever the seed spread (a spread of 0 still allows it).
ABSOLUTE_FLOOR = 1e-9
#: Known metric columns: never grouping keys, however few distinct values they have.
_METRIC_WORDS = ("nauc", "ps", "qnc", "cost", "accuracy", "rank", "aiq", "apgr", "cpt", "hv", "share", "savings")
_SPREAD_SUFFIXES = ("_std", "_sd", "_low", "_high", " rank", "_rank")
#: The metrics the router-by-dataset (or by-mode) pivot tables hold: their spread stands for unnamed columns.
PRIMARY_METRICS = ("Ps", "nAUC", "nAUC_shared")
#: Tables aggregated from the main results' seeds without sharing their name prefix.
SEED_SOURCES = {"tab_cost_claim.csv": "tab_main_results_all_seeds.csv",
                "tab_qnc.csv": "tab_main_results_all_seeds.csv",
                "tab_qnc_per_dataset.csv": "tab_main_results_all_seeds.csv",
                "tab_paper_vs_here.csv": "tab_main_results_all_seeds.csv"}


def _is_metric(column: str) -> bool:
    lowered = str(column).lower()
    return any(word in lowered for word in _METRIC_WORDS)


def seed_data_for(folder: Path, name: str):
    """The per-seed rows table ``name`` was aggregated from, and that file's name: the table itself when it has a
    ``seed`` column with several seeds, else the companion with the longest common name prefix, ``<prefix>_all_seeds
    .csv`` or ``<prefix>.csv`` with such a column; ``(None, None)`` when there is none."""
    import pandas as pd

    stem = name[: -len(".csv")]
    parts = stem.split("_")
    candidates = [SEED_SOURCES[name][: -len(".csv")]] if name in SEED_SOURCES else []
    candidates.append(stem)
    for end in range(len(parts), 1, -1):
        prefix = "_".join(parts[:end])
        candidates += [f"{prefix}_all_seeds", prefix]
    for candidate in dict.fromkeys(candidates):
        path = Path(folder) / f"{candidate}.csv"
        if path.is_file():
            frame = pd.read_csv(path)
            if "seed" in frame.columns and frame["seed"].nunique() > 1:
                return frame, path.name
    return None, None


@dataclass(frozen=True)
class Spread:
    """Seed spread of one metric: the typical (median) between-seed standard deviation over the groups of a seed
    table, the typical number of seeds per group, and whether some group has both finite and infinite values."""

    sd: float
    seeds: int
    mixes_infinite: bool = False


def seed_spreads(frame) -> dict[str, Spread]:
    """:class:`Spread` of every metric column of a per-seed table. Groups are the rows that agree on every label
    column (text, or a number with at most 12 distinct values that is not a metric: mode, train fraction) except the
    seed; the spread of a metric is the median standard deviation (ddof 1, finite values) over groups of 2+ seeds."""
    import numpy as np
    import pandas as pd

    columns = [c for c in frame.columns if c != "seed" and not str(c).startswith("Unnamed")]
    keys = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
            or (frame[c].nunique() <= 12 and not _is_metric(c))]
    metrics = [c for c in columns if c not in keys]
    spreads = {}
    grouped = frame.groupby(keys, dropna=False) if keys else [((), frame)]
    for column in metrics:
        sds, sizes, mixes = [], [], False
        for _, group in grouped:
            values = group[column].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            if values.size < 2:
                continue
            finite = values[np.isfinite(values)]
            mixes = mixes or (0 < finite.size < values.size)
            sizes.append(values.size)
            if finite.size >= 2:
                sds.append(float(finite.std(ddof=1)))
        if sizes:
            spreads[column] = Spread(float(np.median(sds)) if sds else 0.0, int(np.median(sizes)), mixes)
    return spreads


def _own_spreads(frame) -> dict[str, Spread]:
    """Spreads a table states itself: ``<metric>_std``/``_sd`` columns (with ``seeds``/``n_seeds`` for the count), or
    a ``between_sd`` column for every metric of the table."""
    import numpy as np

    count_column = next((c for c in ("seeds", "n_seeds") if c in frame.columns), None)
    seeds = int(np.nanmax(frame[count_column])) if count_column is not None else 1
    spreads = {}
    for column in frame.columns:
        for suffix in ("_std", "_sd"):
            if str(column).endswith(suffix):
                values = frame[column].to_numpy(dtype=float)
                values = values[np.isfinite(values)]
                spreads[str(column)[: -len(suffix)]] = Spread(float(values.max()) if values.size else 0.0, seeds)
    if "between_sd" in frame.columns:
        values = frame["between_sd"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        spreads["*"] = Spread(float(values.max()) if values.size else 0.0, seeds)
    return spreads


@dataclass
class TableTolerance:
    """Tolerance of every numeric column of one table (:func:`table_tolerance`), and where its spread came from."""

    per_column: dict[str, float]
    default: float
    infinite_ok: set[str]
    source: str

    def of(self, column: str) -> float:
        return self.per_column.get(column, self.default)


def table_tolerance(folder: Path, name: str, *, k: float = NOISE_K, fallback: Spread | None = None) -> TableTolerance:
    """Tolerance of each numeric column of committed table ``name`` in ``folder``: ``max(ABSOLUTE_FLOOR, k * sd *
    sqrt(2 / n))``, i.e. ``k`` standard deviations of the difference between two independent training draws of a
    mean over ``n`` seeds (``n`` = 1 for a per-seed table), where ``sd`` is the column's :class:`Spread` from the
    table's seed data (:func:`seed_data_for`), else from the spreads it states (``_std`` columns), else ``fallback``.
    A column is matched by name (also without a ``best_`` prefix), then without a suffix such as ``_std`` or
    `` rank``, then by the metric its file
    name names (``_ps``, ``_nauc``, ``_qnc``); others take the largest spread of the :data:`PRIMARY_METRICS` (the
    values the pivot tables hold), or of any metric where those are absent. An infinite value may
    replace a finite one (and back) where the seed data itself has both for that metric."""
    import pandas as pd

    table = pd.read_csv(Path(folder) / name)
    seed_frame, source = seed_data_for(folder, name)
    spreads = seed_spreads(seed_frame) if seed_frame is not None else {}
    if not spreads:
        spreads, source = _own_spreads(table), f"{name} (its own spread columns)"
    if not spreads and fallback is not None:
        spreads, source = {"*": fallback}, "the largest spread of the seed tables in the folder"
    if not spreads:
        return TableTolerance({}, ABSOLUTE_FLOOR, set(), "none (exact)")
    per_seed_table = "seed" in table.columns
    tokens = set(name[: -len(".csv")].lower().split("_"))
    named = next((metric for token, metric in (("ps", "Ps"), ("nauc", "nAUC"), ("qnc", "QNC")) if token in tokens
                  and metric in spreads), None)
    primary = [spreads[m] for m in PRIMARY_METRICS if m in spreads]
    largest = max(primary or spreads.values(), key=lambda spread: spread.sd)

    def tolerance(spread: Spread) -> float:
        n = 1 if per_seed_table else max(spread.seeds, 1)
        return max(ABSOLUTE_FLOOR, k * spread.sd * math.sqrt(2 / n))

    per_column, infinite_ok = {}, set()
    for column in table.columns:
        spread = spreads.get(column) or spreads.get(str(column).removeprefix("best_"))
        for suffix in _SPREAD_SUFFIXES:
            if spread is None and str(column).endswith(suffix):
                spread = spreads.get(str(column)[: -len(suffix)])
        if spread is None:
            spread = spreads.get(named) if named else spreads.get("*", largest)
        per_column[column] = tolerance(spread)
        if spread.mixes_infinite:
            infinite_ok.add(column)
    return TableTolerance(per_column, tolerance(largest), infinite_ok, source)


def folder_fallback_spread(folder: Path) -> Spread | None:
    """The largest spread of a :data:`PRIMARY_METRICS` column over the seed tables of ``folder``: the tolerance of
    tables that have no seed data of their own (computed from the same embeddings, so moved by the same machine
    noise); ``None`` when the folder has no seed table."""
    import pandas as pd

    largest = None
    for path in sorted(Path(folder).glob("*.csv")):
        frame = pd.read_csv(path)
        if "seed" not in frame.columns or frame["seed"].nunique() < 2:
            continue
        for metric, spread in seed_spreads(frame).items():
            if metric in PRIMARY_METRICS and (largest is None or spread.sd > largest.sd):
                largest = spread
    return largest


def _split_csv_line(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]))


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def compare_within_tolerance(name: str, expected: str, actual: str, tolerance: TableTolerance
                             ) -> tuple[list[CellMove], list[str], list[str]]:
    """Cell by cell comparison of two CSV texts: (moved numeric cells with their tolerance, differences that fail
    the check: shape, header, number <-> text, NaN <-> number; label cells that changed, reported only)."""
    exp_lines, act_lines = expected.splitlines(), actual.splitlines()
    if len(exp_lines) != len(act_lines):
        return [], [f"{name}: {len(act_lines)} lines regenerated, {len(exp_lines)} committed"], []
    moves, failures, labels = [], [], []
    header = _split_csv_line(exp_lines[0]) if exp_lines else []
    for line_no, (exp, act) in enumerate(zip(exp_lines, act_lines), start=1):
        if exp == act:
            continue
        exp_cells, act_cells = _split_csv_line(exp), _split_csv_line(act)
        if line_no == 1 or len(exp_cells) != len(act_cells):
            failures.append(f"{name}, line {line_no}: committed {exp[:160]!r}, regenerated {act[:160]!r}")
            continue
        for column, e, a in zip(header, exp_cells, act_cells):
            if e == a:
                continue
            ev, av = _float_or_none(e), _float_or_none(a)
            if ev is None and av is None:
                labels.append(f"{name}, line {line_no}, column {column!r}: {e!r} -> {a!r}")
            elif ev is None or av is None or math.isnan(ev) != math.isnan(av):
                failures.append(f"{name}, line {line_no}, column {column!r}: committed {e!r}, regenerated {a!r}")
            elif math.isinf(ev) != math.isinf(av) or (math.isinf(ev) and ev != av):
                move = CellMove(name, line_no, column, ev, av, math.inf if column in tolerance.infinite_ok else 0.0)
                moves.append(move)
            elif not math.isnan(ev):
                moves.append(CellMove(name, line_no, column, ev, av, tolerance.of(column)))
    return moves, failures, labels


def compare_outputs(committed: Path, regenerated: Path, *, tolerance: float = 0.0, mode: str = "exact",
                    k: float = NOISE_K) -> Comparison:
    """Compare every table file and the set of figure files in two output folders (module docstring).

    ``mode="exact"``: tables must match as text (numeric CSV cells within the absolute ``tolerance`` when it is
    above 0). ``mode="tolerance"``: every numeric CSV cell may move within its seed-noise tolerance
    (:func:`table_tolerance` with ``k``), an infinite value may become finite only where the seeds disagree about it
    too, label cells may change (they are reported), and the computed headlines (:func:`headlines`) must not be
    decided the other way; Markdown twins of CSV tables are not compared (the CSV holds the same numbers)."""
    if mode not in ("exact", "tolerance"):
        raise ValueError(f"compare_outputs: mode must be 'exact' or 'tolerance', got {mode!r}")
    committed, regenerated = Path(committed), Path(regenerated)
    result = Comparison(mode=mode)
    suffixes = TABLE_SUFFIXES + FIGURE_SUFFIXES
    names_c = {p.name for p in committed.glob("*") if p.suffix in suffixes}
    names_r = {p.name for p in regenerated.glob("*") if p.suffix in suffixes}
    for name in sorted(names_c - names_r):
        result.differences.append(f"{name}: committed but not regenerated")
    for name in sorted(names_r - names_c):
        result.differences.append(f"{name}: regenerated but not committed")
    fallback = folder_fallback_spread(committed) if mode == "tolerance" else None
    labels: list[str] = []
    for name in sorted(names_c & names_r):
        if not name.endswith(TABLE_SUFFIXES):
            continue
        if mode == "tolerance" and name.endswith(".md") and f"{name[:-3]}.csv" in names_c:
            continue
        result.compared.append(name)
        expected = (committed / name).read_text(encoding="utf-8")
        actual = (regenerated / name).read_text(encoding="utf-8")
        if expected == actual:
            continue
        if mode == "tolerance" and name.endswith(".csv"):
            moves, failures, changed = compare_within_tolerance(
                name, expected, actual, table_tolerance(committed, name, k=k, fallback=fallback))
            result.moves += moves
            labels += changed
            result.differences += failures
            result.differences += [f"{m.table}, line {m.line}, column {m.column!r}: moved {m.committed!r} -> "
                                   f"{m.regenerated!r}, beyond its tolerance {m.tolerance:.3g}"
                                   for m in moves if not m.within]
        else:
            result.differences += _table_differences(name, expected, actual, tolerance)
    if mode == "tolerance":
        result.reasons += [f"label cell changed (reported, not failed): {line}" for line in labels]
        result.headline_changes = headline_changes(headlines(committed), headlines(regenerated))
        result.differences += [f"headline changed: {line}" for line in result.headline_changes]
    return result


# ------------------------------------------------------------------------------------------------------ headlines
def _verdicts_beat_best_single(folder: Path) -> dict | None:
    """Per learned router: Ps on all test rows minus the best single model's, per seed (notebook 3's count)."""
    import pandas as pd

    from mmr_utils.metrics.seed_noise import verdicts_against

    path = Path(folder) / "tab_main_results_all_seeds.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    frame = frame[frame["dataset"] == "All"]
    if "protocol" in frame.columns:
        frame = frame[frame["protocol"].isna() | (frame["protocol"] == "per_dataset")]
    if "random_protocol" in frame.columns:
        frame = frame[frame["random_protocol"].isna()]
    frame = frame[~frame["router"].isin(["oracle", "random"])]
    return verdicts_against(frame, "best_single", metric="Ps")


def _verdicts_multimodal(folder: Path) -> dict | None:
    """Per router: shared nAUC of mode 22 minus each of 11 and 33, per seed, on all test rows (notebook 4)."""
    import pandas as pd

    from mmr_utils.metrics.seed_noise import verdicts_between

    path = Path(folder) / "tab_modality_all_seeds.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    frame = frame[(frame["dataset"] == "All") & (frame["study"] == "mode")].copy()
    frame["mode"] = frame["mode"].map(lambda value: str(int(value)))
    return verdicts_between(frame, "mode", "22", ("11", "33"), metric="nAUC_shared")


def _verdicts_cost_claim(folder: Path) -> dict | None:
    """Per dataset: the claimed cost fraction (with its tolerance) minus the best router's QNC, per seed (notebook
    3's "at or below the claim" count)."""
    import pandas as pd

    from mmr_utils.metrics.seed_noise import NoiseVerdict, paired_verdict

    claim_path, seeds_path = Path(folder) / "tab_cost_claim.csv", Path(folder) / "tab_main_results_all_seeds.csv"
    if not claim_path.is_file() or not seeds_path.is_file():
        return None
    claim, seeds = pd.read_csv(claim_path), pd.read_csv(seeds_path)
    if "protocol" in seeds.columns:
        seeds = seeds[seeds["protocol"].isna() | (seeds["protocol"] == "per_dataset")]
    bound = 0.05
    verdicts = {}
    for _, row in claim.iterrows():
        part = seeds[(seeds["dataset"] == row["dataset"]) & ~seeds["router"].isin(["best_single", "oracle",
                                                                                   "random"])]
        if isinstance(row["best_router"], str):
            qnc = part[part["router"] == row["best_router"]]["QNC"]
            verdicts[row["dataset"]] = paired_verdict(row["claim"] + bound - qnc.to_numpy(dtype=float))
        else:  # no router reaches the best single model on average: undecided if some seed of some router does
            reached = bool(part["QNC"].astype(float).map(math.isfinite).any())
            verdicts[row["dataset"]] = NoiseVerdict(-math.inf, math.inf if reached else 0.0, reached)
    return verdicts


HEADLINES = {
    "learned routers above the best single model (Ps, all rows)": _verdicts_beat_best_single,
    "routers where multimodal (22) beats text-only (11) and image-only (33)": _verdicts_multimodal,
    "datasets where a router matches the best single model at or below the claimed cost fraction": _verdicts_cost_claim,
}


def headlines(folder: Path) -> dict[str, dict]:
    """The computed claims of the tables in ``folder``, each as per-item :class:`~mmr_utils.seed_noise.NoiseVerdict`
    (items: routers or datasets); claims whose tables are absent are left out."""
    found = {}
    for title, compute in HEADLINES.items():
        verdicts = compute(folder)
        if verdicts is not None:
            found[title] = verdicts
    return found


def headline_changes(committed: dict[str, dict], regenerated: dict[str, dict]) -> list[str]:
    """Claims decided the other way: an item above its noise in one folder and below it in the other (an item within
    seed noise on either side changes nothing), or an item present on one side only."""
    changes = []
    for title, verdicts in committed.items():
        other = regenerated.get(title)
        if other is None:
            changes.append(f"{title}: not computed from the regenerated tables")
            continue
        for item in sorted(set(verdicts) | set(other)):
            if item not in verdicts or item not in other:
                changes.append(f"{title}: {item} only in the {'regenerated' if item in other else 'committed'} tables")
            elif verdicts[item].sign * other[item].sign < 0:
                changes.append(f"{title}: {item} {verdicts[item].describe()} committed, {other[item].describe()} "
                               f"regenerated")
    return changes


def machine_matches(committed: Path = paths.FIGURES, current: dict | None = None) -> tuple[bool, list[str]]:
    """Whether every committed run record (``<committed>/runs/*.json``) was made where this process computes the
    same last bits (:func:`mmr_utils.numerics.same_numerics`: CPU vendor, family, model, the libraries' code paths
    and active pins); the reasons when not, each naming the record."""
    import json

    from mmr_utils.numerics import process_numerics, same_numerics

    current = process_numerics() if current is None else current
    records = sorted((Path(committed) / "runs").glob("*.json"))
    if not records:
        return False, [f"no run records in {Path(committed) / 'runs'}"]
    reasons = []
    for record in records:
        numerics = json.loads(record.read_text(encoding="utf-8")).get("machine", {}).get("numerics")
        _, why = same_numerics(numerics, current)
        reasons += [f"{record.name}: {reason}" for reason in why]
    return not reasons, reasons


def check_figures(*, work: Path | None = None, tolerance: float = 0.0, keep: bool = False, mode: str = "auto",
                  k: float = NOISE_K, log=print) -> Comparison:
    """Regenerate everything from a clean state and compare it with ``figures/`` (the ``make check-figures`` entry).

    ``mode="auto"``: exact where the committed run records say they were made on a machine that computes the same
    last bits as this one (:func:`machine_matches`), seed-noise tolerance elsewhere; ``"exact"`` or ``"tolerance"``
    force one (:func:`compare_outputs`)."""
    if mode not in ("auto", "exact", "tolerance"):
        raise ValueError(f"check_figures: mode must be 'auto', 'exact' or 'tolerance', got {mode!r}")
    reasons: list[str] = []
    if mode == "auto":
        same, reasons = machine_matches(paths.FIGURES)
        mode = "exact" if same else "tolerance"
        log("check-figures: the committed run records match this machine's numerics: exact comparison" if same else
            f"check-figures: this machine may compute other last bits than the one that made figures/ "
            f"({'; '.join(reasons[:3])}{'; ...' if len(reasons) > 3 else ''}): comparing within seed-noise tolerance")
    if work is None:
        work = Path(tempfile.mkdtemp(prefix="mmr-check-figures-"))
    started = time.perf_counter()
    regenerated = regenerate(work, log=log)
    result = compare_outputs(paths.FIGURES, regenerated, tolerance=tolerance, mode=mode, k=k)
    result.reasons = reasons + result.reasons
    log(f"check-figures: {result.summary()} in {time.perf_counter() - started:.0f} s"
        f"{f' (numeric tolerance {tolerance:g})' if mode == 'exact' and tolerance else ''}; "
        f"{len(result.differences)} differences; regenerated outputs in {regenerated}")
    if result.ok and not keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return result
