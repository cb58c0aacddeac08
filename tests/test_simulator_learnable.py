"""The simulator's learnable-signal calibration step (mmr_utils.experiments.learnable_signal) and its stored output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmr_utils.data.simulator import benchmark, calibration, outcomes
from mmr_utils.data.simulator import calibration as cal
from mmr_utils.experiments import learnable_signal as learnable


def _stored() -> dict:
    return json.loads(cal.FITTED_FILE.read_text(encoding="utf-8"))


def test_read_fitted_names_the_file_and_the_bad_key(tmp_path):
    good = _stored()
    path = tmp_path / "fitted.json"
    path.write_text(json.dumps(good), encoding="utf-8")
    assert cal.read_fitted(path)["learnable_signal"] == good["learnable_signal"]
    broken = {**good, "learnable_signal": {k: v for k, v in good["learnable_signal"].items() if k != "MMStar"}}
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ValueError, match="learnable_signal"):
        cal.read_fitted(path)
    path.write_text(json.dumps({**good, "shared_effect_sd": {**good["shared_effect_sd"], "MMStar": "two"}}))
    with pytest.raises(ValueError, match="shared_effect_sd.*MMStar"):
        cal.read_fitted(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="fitted.json"):
        cal.read_fitted(path)


def test_the_simulator_runs_on_the_stored_parameters():
    stored = _stored()
    assert stored["learnable_signal"] == cal.LEARNABLE_SIGNAL
    assert stored["shared_effect_sd"] == cal.SHARED_EFFECT_SD
    assert stored["random_peak_excess"] == cal.RANDOM_PEAK_EXCESS
    lo, hi = learnable.SIGNAL_BRACKET
    assert all(lo <= v <= hi for v in cal.LEARNABLE_SIGNAL.values())


def test_learnable_signal_scales_only_the_readable_part_of_its_own_dataset():
    latents = outcomes.simulate_latents(0.03, 2)
    base = {d: 1.0 for d in cal.DATASET_SIZES}
    full = outcomes._base_logits(latents, 2, base)
    none = outcomes._base_logits(latents, 2, {**base, "MMStar": 0.0})
    half = outcomes._base_logits(latents, 2, {**base, "MMStar": 0.5})
    rows = (latents["dataset"] == "MMStar").to_numpy()
    assert np.array_equal(full[~rows], none[~rows])  # other datasets untouched
    # Linear in the strength: the readable part at 0.5 is half the way from 0 to 1.
    np.testing.assert_allclose(half[rows], 0.5 * (full[rows] + none[rows]), atol=1e-12)
    # At strength 0 nothing of the cues is left: the logits do not vary with the cue levels beyond noise and difficulty.
    slopes = np.array([cal.DIFFICULTY_SLOPE[m] for m in cal.MODELS])
    residual = none[rows] + latents["difficulty"].to_numpy()[rows, None] * slopes[None, :]
    assert residual.std() == pytest.approx(cal.IDIOSYNCRATIC_SD, rel=0.15)
    assert abs(np.corrcoef(residual[:, 0], latents["text_cue"].to_numpy()[rows])[0, 1]) < 0.3
    assert not np.allclose(full[rows], none[rows])
    with pytest.raises(ValueError, match="non-negative"):
        outcomes._base_logits(latents, 2, {**base, "MMStar": -0.1})
    with pytest.raises(ValueError, match="non-negative"):
        outcomes._base_logits(latents, 2, {d: v for d, v in base.items() if d != "MMStar"})


def test_with_outcomes_redraws_exactly_what_the_simulator_draws(tmp_path):
    """The calibration's redraw of outcomes (content fixed, parameters varied) equals the simulator's own table at the
    same parameters, also on a subset of datasets."""
    from mmr_utils.data.official import load_table
    from mmr_utils.features.bank import FeatureBank

    table = load_table(benchmark.simulate_benchmark(tmp_path / "bench", scale=0.01, seed=3))
    latents = outcomes.simulate_latents(0.01, 3)
    data = learnable.CalibrationData(0.01, 3, latents, FeatureBank(table, None, None, None), np.arange(table.n))
    redrawn = learnable.with_outcomes(data, cal.LEARNABLE_SIGNAL, cal.SHARED_EFFECT_SD).table
    np.testing.assert_array_equal(redrawn.correct, table.correct)
    np.testing.assert_allclose(redrawn.cost, table.cost, rtol=1e-12)
    rows = np.flatnonzero(table.instances["dataset"].eq("MathVerse").to_numpy())
    subset = learnable.CalibrationData(0.01, 3, latents, FeatureBank(table.take(rows), None, None, None), rows)
    np.testing.assert_array_equal(learnable.with_outcomes(subset, cal.LEARNABLE_SIGNAL, cal.SHARED_EFFECT_SD)
                                  .table.correct, table.correct[rows])
    weaker = learnable.with_outcomes(data, {**cal.LEARNABLE_SIGNAL, "MathVerse": 0.0}, cal.SHARED_EFFECT_SD).table
    assert not np.array_equal(weaker.correct[rows], table.correct[rows])
    others = np.setdiff1d(np.arange(table.n), rows)
    np.testing.assert_array_equal(weaker.correct[others], table.correct[others])


def _fake_search(monkeypatch, slope: float, intercept: float):
    """Replace the expensive parts of fit_signal: the mean Ps of the routers is intercept + slope * signal."""
    calls = []

    def fake_with_outcomes(data, signal, shared):
        return signal

    def fake_learned_ps(signal, routers, seeds, datasets=None, **_):
        (dataset,) = datasets
        calls.append(signal[dataset])
        return pd.DataFrame({"router": list(routers), "dataset": dataset, "seed": 0,
                             "Ps": intercept + slope * signal[dataset], "nAUC": np.nan})

    monkeypatch.setattr(learnable, "with_outcomes", fake_with_outcomes)
    monkeypatch.setattr(learnable, "learned_ps", fake_learned_ps)
    monkeypatch.setattr(learnable, "_refit_shared", lambda data, dataset, signal: 1.0 + signal[dataset])
    return calls


def test_fit_signal_finds_the_strength_that_meets_the_target(monkeypatch):
    calls = _fake_search(monkeypatch, slope=0.1, intercept=0.70)
    target = np.mean([calibration.paper_learned_ps()[(r, "MMStar")] for r in learnable.CALIBRATION_ROUTERS])
    signal, shared, trace = learnable.fit_signal(None, datasets=["MMStar"], start={**cal.LEARNABLE_SIGNAL,
                                                                                   "MMStar": 1.5})
    assert abs(0.70 + 0.1 * signal["MMStar"] - target) <= calibration.TARGETS["search_tolerance"]
    assert shared["MMStar"] == pytest.approx(1.0 + signal["MMStar"])
    assert {k: v for k, v in signal.items() if k != "MMStar"} == {
        k: v for k, v in cal.LEARNABLE_SIGNAL.items() if k != "MMStar"}
    assert list(trace.columns) == ["dataset", "step", "signal", "shared_sd", "target", "achieved", "gap"]
    assert len(trace) == len(calls) <= 6
    again = learnable.fit_signal(None, datasets=["MMStar"], start={**cal.LEARNABLE_SIGNAL, "MMStar": 1.5})
    assert again[0] == signal  # deterministic


def test_fit_signal_stays_in_its_bracket_when_the_target_is_out_of_reach(monkeypatch):
    _fake_search(monkeypatch, slope=0.01, intercept=0.95)  # always above every paper value
    signal, _, trace = learnable.fit_signal(None, datasets=["RealWorldQA"], rounds=8)
    lo, hi = learnable.SIGNAL_BRACKET
    assert lo <= trace["signal"].min() and trace["signal"].max() <= hi
    assert signal["RealWorldQA"] == trace.loc[trace["gap"].abs().idxmin(), "signal"]
    assert signal["RealWorldQA"] == pytest.approx(lo, abs=0.05)


def test_check_compares_every_cell_and_gain_with_the_paper(monkeypatch):
    paper = calibration.paper_learned_ps()
    offsets = {"linear_mf": 0.0, "mlp_mf": 0.015, "knn": -0.03, "kmeans": 0.05}

    def fake_learned_ps(bank, routers, seeds, full=False, **_):
        rows = [{"router": "best_single", "dataset": "All", "seed": 0, "Ps": cal.PAPER_BEST_SINGLE_PS["Full"],
                 "nAUC": np.nan}]
        for (router, dataset), value in paper.items():
            rows.append({"router": router, "dataset": dataset, "seed": 0, "Ps": value + offsets[router],
                         "nAUC": 0.5})
        return pd.DataFrame(rows)

    monkeypatch.setattr(learnable, "learned_ps", fake_learned_ps)
    cells, gains, summary = learnable.check(None)
    assert len(cells) == 32 and set(cells["dataset"]) == {*cal.DATASET_SIZES, "All"}
    per_dataset = cells[cells["dataset"] != "All"]
    np.testing.assert_allclose(per_dataset["difference_ps"], per_dataset["router"].map(offsets), atol=1e-12)
    assert summary["ps_cells"] == 32 and summary["ps_cells_within"] == 16  # linear_mf and mlp_mf
    assert summary["ps_max_abs_difference"] == pytest.approx(0.05)
    assert not summary["ps_cells_met"]
    np.testing.assert_allclose(gains.set_index("router")["difference"], pd.Series(offsets), atol=1e-12)
    assert summary["gains_within"] == 1 and not summary["gains_met"]


def _calibration_record() -> dict:
    """The stored calibration record; an explicit skip (with the command to run) while the stored parameters were not
    written by a full calibration run (their ``status`` says so)."""
    record = learnable.stored_record()
    if "trace" not in record:
        assert "not been run" in record.get("status", ""), "fitted_parameters.json has neither a record nor a status"
        pytest.skip("the learnable-signal calibration step has not been run at full scale on this checkout "
                    "(python -m mmr_utils.experiments.learnable_signal); fitted_parameters.json says so")
    return record


def test_calibration_record_is_stored_beside_the_fitted_values():
    """The stored parameters come with the calibration step's record: its settings, the trace of every evaluation
    (the stored signal is the best evaluated one per dataset) and the check against Table 2."""
    record = _calibration_record()
    settings = record["settings"]
    assert settings["routers"] == list(learnable.CALIBRATION_ROUTERS)
    trace = pd.DataFrame(record["trace"])
    for dataset, signal in record["learnable_signal"].items():
        steps = trace[trace["dataset"] == dataset]
        assert not steps.empty, dataset
        assert signal == pytest.approx(steps.loc[steps["gap"].abs().idxmin(), "signal"], abs=1e-9), dataset
    if not settings["check_routers"]:  # the fit ran without its check: the record says so and holds no cells
        assert "cells" not in record and "summary" not in record
        return
    cells = pd.DataFrame(record["cells"])
    assert len(cells) == 32
    assert record["summary"]["ps_cells"] == 32
    np.testing.assert_allclose(cells["difference_ps"], cells["here_ps"] - cells["paper_ps"], atol=1e-12)
