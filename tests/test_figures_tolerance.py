"""check-figures on another machine: cells may move within the seed noise of their table, headlines may not flip."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from tools import figures_check as fc


def _seed_table(ps_by_router_seed, dataset="All"):
    rows = []
    for router, values in ps_by_router_seed.items():
        for seed, ps in enumerate(values):
            rows.append({"router": router, "dataset": dataset, "seed": seed, "Ps": ps, "QNC": 0.5 + ps,
                         "rows": 100, "protocol": None if router == "best_single" else "per_dataset"})
    return pd.DataFrame(rows)


def _write(folder, seeds: pd.DataFrame):
    folder.mkdir(parents=True, exist_ok=True)
    seeds.to_csv(folder / "tab_main_results_all_seeds.csv")
    means = seeds.groupby("router")["Ps"].mean().rename("All").to_frame()
    means.to_csv(folder / "tab_main_results_ps.csv")
    (folder / "tab_main_results_ps.md").write_text(means.to_markdown())
    pd.DataFrame({"dataset": ["OCR"], "instances": [10]}).to_csv(folder / "tab_composition.csv", index=False)


SEEDS = {"best_single": [0.70, 0.71, 0.72], "knn": [0.74, 0.76, 0.75], "mlp": [0.70, 0.73, 0.71]}


def test_seed_spread_is_the_median_group_sd_and_tolerance_follows_it(tmp_path):
    _write(tmp_path, _seed_table(SEEDS))
    spreads = fc.seed_spreads(pd.read_csv(tmp_path / "tab_main_results_all_seeds.csv"))
    sds = [np.std(v, ddof=1) for v in SEEDS.values()]
    assert spreads["Ps"].sd == pytest.approx(np.median(sds)) and spreads["Ps"].seeds == 3
    tolerance = fc.table_tolerance(tmp_path, "tab_main_results_ps.csv")
    assert tolerance.source == "tab_main_results_all_seeds.csv"
    assert tolerance.of("All") == pytest.approx(fc.NOISE_K * np.median(sds) * math.sqrt(2 / 3))
    # the per-seed table itself: one seed per cell, so the two-draw difference has sqrt(2) sd
    per_seed = fc.table_tolerance(tmp_path, "tab_main_results_all_seeds.csv")
    assert per_seed.of("Ps") == pytest.approx(fc.NOISE_K * np.median(sds) * math.sqrt(2))
    # a table without seed data and no fallback must match exactly
    assert fc.table_tolerance(tmp_path, "tab_composition.csv").of("instances") == fc.ABSOLUTE_FLOOR


def test_moves_within_tolerance_pass_and_are_counted(tmp_path):
    committed, regenerated = tmp_path / "c", tmp_path / "r"
    _write(committed, _seed_table(SEEDS))
    moved = {k: [v + 0.001 for v in values] if k == "knn" else values for k, values in SEEDS.items()}
    _write(regenerated, _seed_table(moved))
    result = fc.compare_outputs(committed, regenerated, mode="tolerance")
    assert result.ok, result.differences
    # 3 per-seed Ps cells, their 3 QNC cells and the mean
    assert len(result.moves) == 7 and all(m.within for m in result.moves)
    assert max(m.delta for m in result.moves) == pytest.approx(0.001)
    assert "7 numeric cells moved (7 within tolerance, 0 beyond" in result.summary()
    assert "tab_main_results_ps.md" not in result.compared  # the CSV twin carries its numbers
    assert fc.compare_outputs(committed, regenerated, mode="exact").differences  # the exact mode still fails


def test_a_move_beyond_tolerance_fails_naming_the_cell(tmp_path):
    committed, regenerated = tmp_path / "c", tmp_path / "r"
    _write(committed, _seed_table(SEEDS))
    moved = {k: [v + 0.2 for v in values] if k == "mlp" else values for k, values in SEEDS.items()}
    _write(regenerated, _seed_table(moved))
    result = fc.compare_outputs(committed, regenerated, mode="tolerance")
    assert not result.ok
    assert any("tab_main_results_ps.csv, line 4, column 'All'" in line and "beyond its tolerance" in line
               for line in result.differences), result.differences


def test_a_headline_decided_the_other_way_fails(tmp_path):
    committed, regenerated = tmp_path / "c", tmp_path / "r"
    _write(committed, _seed_table(SEEDS))
    # knn falls clearly below the best single model on every seed: same spread, opposite decided sign
    flipped = {**SEEDS, "knn": [0.66, 0.68, 0.67]}
    _write(regenerated, _seed_table(flipped))
    committed_headlines = fc.headlines(committed)
    title = next(iter(committed_headlines))
    assert committed_headlines[title]["knn"].sign == 1 and committed_headlines[title]["mlp"].within_noise
    result = fc.compare_outputs(committed, regenerated, mode="tolerance", k=100)  # cells pass, the claim does not
    assert result.headline_changes and "knn" in result.headline_changes[0]
    assert not result.ok


def test_a_margin_within_noise_may_change_sign(tmp_path):
    committed, regenerated = tmp_path / "c", tmp_path / "r"
    _write(committed, _seed_table(SEEDS))
    nudged = {**SEEDS, "mlp": [0.69, 0.72, 0.70]}  # mlp's margin over the best single model was within noise
    _write(regenerated, _seed_table(nudged))
    assert fc.compare_outputs(committed, regenerated, mode="tolerance").headline_changes == []


def test_infinite_cells_may_flip_only_where_seeds_disagree(tmp_path):
    seeds = pd.DataFrame({"router": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2,
                          "QNC": [0.5, math.inf, 0.6, 0.4, 0.41, 0.42]})
    committed, regenerated = tmp_path / "c", tmp_path / "r"
    for folder in (committed, regenerated):
        folder.mkdir()
        seeds.to_csv(folder / "tab_x_all_seeds.csv", index=False)
    pd.DataFrame({"router": ["a"], "QNC": [0.55]}).to_csv(committed / "tab_x.csv", index=False)
    pd.DataFrame({"router": ["a"], "QNC": [math.inf]}).to_csv(regenerated / "tab_x.csv", index=False)
    assert fc.compare_outputs(committed, regenerated, mode="tolerance").ok
    steady = seeds.assign(QNC=[0.5, 0.55, 0.6, 0.4, 0.41, 0.42])
    steady.to_csv(committed / "tab_x_all_seeds.csv", index=False)
    steady.to_csv(regenerated / "tab_x_all_seeds.csv", index=False)
    result = fc.compare_outputs(committed, regenerated, mode="tolerance")
    assert not result.ok and "tab_x.csv, line 2, column 'QNC'" in result.differences[0]


def test_shape_and_missing_values_fail_in_tolerance_mode(tmp_path):
    committed, regenerated = tmp_path / "c", tmp_path / "r"
    for folder in (committed, regenerated):
        folder.mkdir()
    (committed / "tab_y.csv").write_text("a,b\n1,0.5\n")
    (regenerated / "tab_y.csv").write_text("a,b\n1,\n")
    assert "column 'b'" in fc.compare_outputs(committed, regenerated, mode="tolerance").differences[0]
    (regenerated / "tab_y.csv").write_text("a,b\n1,0.5\n2,0.5\n")
    assert "lines regenerated" in fc.compare_outputs(committed, regenerated, mode="tolerance").differences[0]
    with pytest.raises(ValueError, match="mode must be"):
        fc.compare_outputs(committed, regenerated, mode="loose")


def test_machine_matches_reads_every_run_record(tmp_path):
    current = {"cpu": {"vendor": "V", "family": "1", "model": "2", "architecture": "x86_64"},
               "libraries": {"torch_cpu_capability": "AVX2", "mkl": {"cbwr_branch": "COMPATIBLE"},
                             "openblas": [{"core_type": "Haswell"}]}, "pins": {"active": True}}
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "01.json").write_text(json.dumps({"machine": {"numerics": current}}))
    assert fc.machine_matches(tmp_path, current) == (True, [])
    (runs / "02.json").write_text(json.dumps({"machine": {"cpu": "old record"}}))
    same, reasons = fc.machine_matches(tmp_path, current)
    assert not same and reasons == ["02.json: no numerics record in the committed run record"]
    assert fc.machine_matches(tmp_path / "none", current)[0] is False
