"""Do the numbers depend on which instruction set the numerical libraries pick, and which pins make them not?

The last bits of a float computation depend on the order its additions run in, and that order depends on the code
path a library picks for the CPU it runs on: torch's own vectorised kernels (ATen, dispatched by CPU capability),
MKL's matrix products inside torch, oneDNN, and OpenBLAS inside numpy and scipy (kernel chosen by core type, block
sizes partly by cache size). This script emulates other CPUs on this one by capping or choosing those code paths
with the libraries' own environment variables, and fingerprints (sha256 of the bytes) everything a table is built
from, computed in a fresh process per setting:

- ``text``: MiniLM embeddings of the simulated questions (torch: ATen kernels + MKL matrix products);
- ``image``: image-statistics embeddings of the simulated images (numpy/scikit-image, OpenBLAS projection);
- ``fused_*``: router features built from both channels (mean, concat, adaptive_margin with its k-means);
- ``router_*``: predicted utility and cost of every learned router of the main results, neural ones at a few epochs.

Each setting is run once without pins (only the emulating variables) and once with each candidate pin set, so the
result says which variables move which fingerprints and which pin set makes every fingerprint identical. Timings of
the embedding and training stages come from the same runs (one process at a time).

Run: ``python benchmarks/isa_invariance.py`` (about 15 minutes on 2 shared cores); ``--quick`` runs fewer settings.
Writes ``benchmarks/results/isa_invariance.md`` and ``isa_invariance.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "results"

#: Every variable that selects a numerical code path; removed from the environment before a setting adds its own.
CODE_PATH_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR",
                       "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                       "OPENBLAS_VERBOSE", "MMR_NUMERICS_PINS", "MMR_TORCH_THREADS", "OMP_NUM_THREADS",
                       "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: Settings that emulate other CPUs: what a library would pick on a CPU without AVX-512, or another core type.
EMULATED = {
    "native": {},
    "env-openblas": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"},
    "openblas-haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "openblas-skylakex": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "openblas-zen": {"OPENBLAS_CORETYPE": "Zen"},
    "openblas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "openblas-l2-512": {"OPENBLAS_L2_SIZE": "512"},
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "onednn-avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "mkl-avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "mkl-avx512": {"MKL_ENABLE_INSTRUCTIONS": "AVX512"},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
    "threads-2": {"MMR_TORCH_THREADS": "2"},
    "avx2-machine": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                     "OPENBLAS_CORETYPE": "Haswell"},
}
QUICK = ("native", "env-openblas", "openblas-zen", "openblas-l2-512", "aten-avx2", "onednn-avx2", "mkl-avx2",
         "mkl-compatible", "threads-2", "avx2-machine")

#: Candidate pin sets. A pin on a variable that a setting also emulates wins (the pin is what the project sets).
PIN_SETS = {
    "none": {"MMR_NUMERICS_PINS": "0"},
    "project": None,  # filled from mmr_utils.numerics.PINS at run time: the pins the project applies
    "import": {},  # no variable set: importing mmr_utils (before numpy and torch) sets the pins in the process
}
#: The settings run for the ``import`` pin set (it checks a mechanism, not the choice of pins).
IMPORT_SETTINGS = ("native", "env-openblas", "avx2-machine")


def _epochs(epochs: int) -> dict:
    """Router parameters that train every neural router for ``epochs`` epochs."""
    from mmr_utils.experiments.runs import NEURAL_ROUTERS

    return {name: {"epochs": epochs} for name in NEURAL_ROUTERS}


def child(data: Path, out: Path, epochs: int) -> None:
    """Compute every fingerprint in this process and write them (with timings and the arrays) under ``out``."""
    import mmr_utils  # noqa: F401, I001  (first, as a notebook does: it sets the pins unless MMR_NUMERICS_PINS=0)
    import numpy as np

    from mmr_utils.experiments import runs
    from mmr_utils.features.bank import embed_table
    from mmr_utils.features.fusion import build_features
    from mmr_utils.numerics import numerics_description
    from mmr_utils.data.official import load_table
    from mmr_utils.data.splits import instance_split

    table = load_table(data)
    arrays, seconds = {}, {}
    bank = embed_table(table, "offline", use_cache=False, num_workers=0)
    seconds["text"], seconds["image"] = bank.text.info["seconds"], bank.image.info["seconds"]
    arrays["text"], arrays["image"] = bank.text.values, bank.image.values
    split = instance_split(table, 0.5, seed=0)
    blocks = bank.channels(split.train, split.test)
    for strategy in ("mean", "concat", "adaptive_margin"):
        X_train, X_test, _ = build_features(*blocks, mode="22", strategy=strategy, seed=0)
        arrays[f"fused_{strategy}"] = np.concatenate([X_train.ravel(), X_test.ravel()])
    for name in runs.LEARNED_ROUTERS:
        started = time.perf_counter()
        run = runs.fit_predict(bank, name, split, runs.RunConfig(router_params=_epochs(epochs)), seed=0)
        seconds[f"router_{name}"] = time.perf_counter() - started
        arrays[f"router_{name}"] = np.concatenate([np.asarray(run.U, dtype=np.float64).ravel(),
                                                   np.asarray(run.P, dtype=np.float64).ravel()])
    fingerprints = {key: hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:12]
                    for key, value in arrays.items()}
    np.savez(out / "arrays.npz", **arrays)
    (out / "result.json").write_text(json.dumps({"fingerprints": fingerprints, "seconds": seconds,
                                                 "numerics": numerics_description()}, indent=1, default=str))


def timing_child(data: Path, out: Path, epochs: int) -> None:
    """Time the stages a pin can slow down, in this process: MiniLM on the questions and image statistics on the
    images (CPU seconds of both, and the text's wall seconds), and one MLP and one CMR training (CPU seconds; one thread
    each, so CPU time is what other jobs on a shared machine disturb least); write them to ``out/timing.json``."""
    import mmr_utils  # noqa: F401  (first: it sets the pins unless MMR_NUMERICS_PINS=0)
    from mmr_utils.data.official import load_table
    from mmr_utils.data.splits import instance_split
    from mmr_utils.experiments import runs
    from mmr_utils.features.bank import embed_table
    from mmr_utils.numerics import pins_status

    table = load_table(data)
    started = time.process_time()
    bank = embed_table(table, "offline", use_cache=False, num_workers=0)
    seconds = {"embedding CPU": time.process_time() - started, "text wall": bank.text.info["seconds"]}
    split = instance_split(table, 0.5, seed=0)
    for name in ("mlp", "cmr"):
        started = time.process_time()
        runs.fit_predict(bank, name, split, runs.RunConfig(router_params=_epochs(epochs)), seed=0)
        seconds[f"{name} CPU"] = time.process_time() - started
    (out / "timing.json").write_text(json.dumps({"seconds": seconds, "pins": pins_status()}))


def timing(data: Path, work: Path, repeats: int, epochs: int, log=print) -> dict:
    """Each pin alone, all pins and none, interleaved ``repeats`` times (a shared machine drifts): seconds per stage
    for every run, keyed by configuration."""
    from mmr_utils.numerics import PINS

    configs = {"none": {"MMR_NUMERICS_PINS": "0"}}
    configs.update({f"{name} only": {"MMR_NUMERICS_PINS": "0", name: value} for name, value in PINS.items()
                    if name != "OPENBLAS_L2_SIZE"})
    configs["OPENBLAS_CORETYPE only"]["OPENBLAS_L2_SIZE"] = PINS["OPENBLAS_L2_SIZE"]
    configs = {("OPENBLAS_CORETYPE + L2_SIZE" if k == "OPENBLAS_CORETYPE only" else k): v for k, v in configs.items()}
    configs["all pins"] = dict(PINS)
    times: dict[str, list[dict]] = {name: [] for name in configs}
    for repeat in range(repeats):
        for name, variables in configs.items():
            env = {k: v for k, v in os.environ.items() if k not in CODE_PATH_VARIABLES}
            env.update(variables)
            env.update({"MMR_RUN_CACHE": "0", "MMR_TRAIN_WORKERS": "1", "PYTHONPATH": str(ROOT),
                        "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"})
            out = work / f"timing-{repeat}-{len(times[name])}-{name.replace(' ', '_')}"
            out.mkdir(parents=True)
            done = subprocess.run([sys.executable, __file__, "--timing-child", str(data), str(out), "--epochs",
                                   str(epochs)], env=env, cwd=ROOT, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"timing {name} failed:\n{(done.stdout + done.stderr)[-3000:]}")
            result = json.loads((out / "timing.json").read_text())
            times[name].append(result["seconds"])
            log(f"timing {repeat} {name:>28}: " + " ".join(f"{k} {v:.1f}" for k, v in result["seconds"].items()))
    return times


def timing_report(times: dict, rows: int, repeats: int, epochs: int, command: str) -> str:
    """Markdown: median seconds per stage and configuration, and the change against no pins."""
    import statistics

    stages = list(next(iter(times.values()))[0])
    median = {name: {stage: statistics.median(run[stage] for run in runs_) for stage in stages}
              for name, runs_ in times.items()}
    lines = ["## What each pin costs", "",
             f"Command: `{command}` ({rows} rows; MiniLM text and image-statistics embeddings of every row, one "
             f"MLP and one CMR trained {epochs} epochs on half of them; one thread; every configuration run "
             f"{repeats} times, interleaved, in a fresh process; median seconds: CPU seconds of this process, which "
             f"other jobs on this 2-core shared machine disturb less than wall time, and the text's wall time for "
             f"comparison).", "",
             "| configuration | " + " | ".join(stages) + " | " + " | ".join(f"{s} vs none" for s in stages) + " |",
             "|---|" + "---|" * (2 * len(stages))]
    for name, values in median.items():
        ratios = [f"{values[s] / median['none'][s]:.2f}x" for s in stages]
        lines.append(f"| {name} | " + " | ".join(f"{values[s]:.2f}" for s in stages) + " | " + " | ".join(ratios)
                     + " |")
    return "\n".join(lines) + "\n"


def run_setting(data: Path, work: Path, name: str, emulated: dict, pins: dict, epochs: int) -> dict:
    """One fresh process with the emulating variables and the pins (pins win); its result and arrays folder."""
    env = {k: v for k, v in os.environ.items() if k not in CODE_PATH_VARIABLES}
    env.update(emulated)
    env.update(pins)
    env.update({"MMR_RUN_CACHE": "0", "MMR_TRAIN_WORKERS": "1", "PYTHONHASHSEED": "0",
                "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    out = work / name
    out.mkdir(parents=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(data), str(out), "--epochs", str(epochs)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"setting {name} ({emulated} + pins {pins}) failed:\n{(done.stdout + done.stderr)[-3000:]}")
    result = json.loads((out / "result.json").read_text())
    result["wall_s"] = time.perf_counter() - started
    result["folder"] = str(out)
    return result


def max_differences(reference: Path, other: Path) -> dict[str, float]:
    """Largest absolute difference per fingerprinted array between two settings' arrays."""
    import numpy as np

    a, b = np.load(Path(reference) / "arrays.npz"), np.load(Path(other) / "arrays.npz")
    return {key: float(np.max(np.abs(a[key].astype(np.float64) - b[key].astype(np.float64)))) for key in a.files}


def _fmt_env(env: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in env.items()) or "(none)"


def report(results: dict, emulated: dict, pin_sets: dict, epochs: int, rows: int, command: str) -> str:
    """The Markdown report: fingerprints per setting and pin set, largest differences, timings, commands."""
    keys = list(next(iter(results.values()))["native"]["fingerprints"])
    lines = ["# Instruction-set invariance of embeddings, features and routers", "",
             f"Command: `{command}` (simulated table, {rows} rows, 50% train, mode 22, neural routers at {epochs} "
             f"epochs, one thread). Each cell is the first 12 hex digits of the sha256 of the array's bytes, computed "
             f"in a fresh process with the setting's variables (all other code-path variables removed). A cell "
             f"equal to the first row's is shown as `=`.", ""]
    for pin_name, per_setting in results.items():
        lines += [f"## Pins: {pin_name} ({_fmt_env(pin_sets[pin_name])})", ""]
        header = "| setting | variables | pins active | " + " | ".join(keys) + " |"
        lines += [header, "|" + "---|" * (len(keys) + 3)]
        first = per_setting["native"]["fingerprints"]
        for name, result in per_setting.items():
            cells = [("=" if result["fingerprints"][k] == first[k] and name != "native" else
                      f"`{result['fingerprints'][k]}`") for k in keys]
            active = "yes" if result["numerics"]["pins"]["active"] else "no"
            lines.append(f"| {name} | {_fmt_env(emulated[name])} | {active} | " + " | ".join(cells) + " |")
        distinct = {k: len({r["fingerprints"][k] for r in per_setting.values()}) for k in keys}
        moved = [k for k, n in distinct.items() if n > 1]
        lines += ["", f"Arrays that differ between settings: {', '.join(moved) if moved else 'none'}."]
        if moved:
            lines += ["", "Largest absolute difference from `native`, per setting that differs:", "",
                      "| setting | " + " | ".join(moved) + " |", "|" + "---|" * (len(moved) + 1)]
            for name, result in per_setting.items():
                if name == "native" or all(result["fingerprints"][k] == first[k] for k in moved):
                    continue
                diffs = max_differences(per_setting["native"]["folder"], result["folder"])
                lines.append(f"| {name} | " + " | ".join(f"{diffs[k]:.2e}" for k in moved) + " |")
        lines.append("")
    lines += ["## Time per setting (seconds, one thread, one run each, on a machine shared with other jobs)", "",
              "The single-variable settings of the unpinned runs give each pin's own cost against `native` "
              "(aten-avx2: ATEN_CPU_CAPABILITY, mkl-compatible: MKL_CBWR, onednn-avx2: ONEDNN_MAX_CPU_ISA, "
              "env-openblas: the two OpenBLAS variables).", "",
              "| pins | setting | text embedding | image embedding | routers (all) | neural routers | process |",
              "|---|---|---|---|---|---|---|"]
    for pin_name, per_setting in results.items():
        for name, result in per_setting.items():
            sec = result["seconds"]
            routers = sum(v for k, v in sec.items() if k.startswith("router_"))
            neural = sum(sec.get(f"router_{k}", 0.0) for k in ("mlp", "mlp_mf", "cmr"))
            lines.append(f"| {pin_name} | {name} | {sec['text']:.1f} | {sec['image']:.1f} | {routers:.2f} | "
                         f"{neural:.2f} | {result['wall_s']:.1f} |")
    lines.append("")
    native = next(iter(results.values()))["native"]["numerics"]
    lines += ["## What the libraries reported (native setting)", "", "```json",
              json.dumps(native, indent=1, default=str), "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--timing-child", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--timing", type=int, metavar="REPEATS", default=0,
                        help="instead of the fingerprints: time each pin alone, all and none, REPEATS times each; "
                             "appends to the report")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the neural routers")
    parser.add_argument("--scale", type=float, default=0.03, help="simulated benchmark scale (0.03: 311 rows)")
    parser.add_argument("--quick", action="store_true", help=f"only the settings {', '.join(QUICK)}")
    parser.add_argument("--pins", nargs="*", default=list(PIN_SETS), help="pin sets to run")
    parser.add_argument("--out", default=str(OUT / "isa_invariance.md"))
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.epochs)
        return
    if args.timing_child:
        timing_child(Path(args.timing_child[0]), Path(args.timing_child[1]), args.epochs)
        return
    sys.path.insert(0, str(ROOT))
    from mmr_utils.data.official import load_table
    from mmr_utils.data.simulator.benchmark import simulate_benchmark
    from mmr_utils.numerics import PINS

    pin_sets = {**PIN_SETS, "project": dict(PINS)}
    if args.timing:
        with tempfile.TemporaryDirectory(prefix="mmr-isa-timing-") as tmp:
            data = simulate_benchmark(Path(tmp) / "bench", scale=args.scale, seed=1)
            rows = load_table(data).n
            times = timing(data, Path(tmp), args.timing, args.epochs)
        command = f"python benchmarks/isa_invariance.py --timing {args.timing} --scale {args.scale:g}"
        out = Path(args.out)
        text = out.read_text(encoding="utf-8") if out.is_file() else ""
        marker = "## What each pin costs"
        text = (text.split(marker)[0].rstrip() + "\n\n" if text else "") + timing_report(times, rows, args.timing,
                                                                                         args.epochs, command)
        partial = out.with_name(f".{out.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
        timing_json = out.with_name(out.stem + "_timing.json")
        timing_json.write_text(json.dumps(times, indent=1), encoding="utf-8")
        print(f"wrote {out} and {timing_json}")
        return
    settings = {k: v for k, v in EMULATED.items() if not args.quick or k in QUICK}
    with tempfile.TemporaryDirectory(prefix="mmr-isa-") as tmp:
        work = Path(tmp)
        data = simulate_benchmark(work / "bench", scale=args.scale, seed=1)
        rows = load_table(data).n
        results = {}
        for pin_name in args.pins:
            results[pin_name] = {}
            for name, emulated in settings.items():
                if pin_name == "import" and name not in IMPORT_SETTINGS:
                    continue
                result = run_setting(data, work / pin_name, name, emulated, pin_sets[pin_name], args.epochs)
                results[pin_name][name] = result
                print(f"{pin_name:>8} {name:>22} {result['wall_s']:6.1f} s  "
                      + " ".join(f"{k}={v[:6]}" for k, v in result["fingerprints"].items()), flush=True)
        command = "python benchmarks/isa_invariance.py" + (" --quick" if args.quick else "") + (
            f" --scale {args.scale:g}" if args.scale != 0.03 else "") + (
            f" --pins {' '.join(args.pins)}" if args.pins != list(PIN_SETS) else "")
        text = report(results, settings, pin_sets, args.epochs, rows, command)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
        summary = {pin: {name: {"fingerprints": r["fingerprints"], "seconds": r["seconds"], "wall_s": r["wall_s"]}
                         for name, r in per.items()} for pin, per in results.items()}
        json_out = out.with_suffix(".json")
        partial = json_out.with_name(f".{json_out.name}.partial")
        partial.write_text(json.dumps(summary, indent=1), encoding="utf-8")
        os.replace(partial, json_out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
