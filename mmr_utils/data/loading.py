"""Data sources, all producing the official MMR-Bench schema: the official release (:mod:`.official`), the
embedded simulator (:mod:`.simulator`) and the MATH-V converter (:mod:`.mathv`); MMR-Bench V2 (:mod:`.v2`) loads
into the same :class:`~mmr_utils.data.table.OutcomeTable`."""

from __future__ import annotations

from pathlib import Path


def _stale_simulation(folder: Path) -> bool:
    """True when ``folder`` was written by other simulator code than the installed one (it is then rewritten)."""
    import json

    from mmr_utils.data.simulator.benchmark import generator_code_hash

    try:
        recorded = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not isinstance(recorded, dict) or recorded.get("generator_code") != generator_code_hash()


def load_benchmark(data_root: str | None = None, *, scale: float = 1.0, seed: int = 0, datasets=None, images="auto"):
    """The outcome table a notebook works on: ``data_root`` is a folder in the official schema or of MMR-Bench V2
    (relative to the repository root); empty means the simulated benchmark at ``scale``/``seed``, generated on first
    use under ``data/simulated-s<scale>-seed<seed>`` (``data/simulated`` at full scale, seed 0)."""
    from mmr_utils.paths import DATA, ROOT, SIMULATED
    from mmr_utils.data.official import load_table

    if data_root:
        root = Path(data_root)
        root = root if root.is_absolute() else ROOT / root
        if (root / "data" / "instances").is_dir() and (root / "data" / "results").is_dir():
            from mmr_utils.data.v2 import load_v2

            table = load_v2(root, **({} if images == "auto" else {"image_root": images}))
            return table if datasets is None else table.select_datasets(datasets)
        return load_table(root, datasets=datasets, images=images)
    from mmr_utils.data.simulator.benchmark import simulate_benchmark

    folder = SIMULATED if (scale == 1.0 and seed == 0) else DATA / f"simulated-s{scale:g}-seed{seed}"
    if not (folder / "MMR-Bench.csv").is_file() or _stale_simulation(folder):
        simulate_benchmark(folder, scale=scale, seed=seed)
    return load_table(folder, datasets=datasets, images=images)
