"""Write the outputs of a full-size run into the paired notebook a reader opens (``python -m tools store-outputs``).

``make figures`` executes every notebook with its ``params/*.full.yaml`` into ``build/``; this copies those outputs,
cell by cell, into ``notebooks/NN_name.ipynb``, so that the notebook on GitHub, in the book and on Binder shows the
numbers and figures that ``figures/`` holds. The sources stay those of the ``.py`` pair (papermill's injected
parameters cell is not copied); instead the parameters cell gets one output saying which parameters made the outputs
below it. ``make test`` runs the small defaults without comparing them to these outputs.
"""

from __future__ import annotations

from pathlib import Path

from mmr_utils._io import atomic_write_text
from mmr_utils.cli import CLIError

INJECTED = "injected-parameters"


def _tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def parameters_note(injected_source: str, params_file: str) -> str:
    """The text shown under the parameters cell: which file's values produced the stored outputs."""
    lines = [line for line in injected_source.splitlines() if line.strip() and not line.startswith("#")]
    return ("The outputs stored in this notebook come from `make figures`, which ran it with "
            f"{params_file}:\n" + "\n".join(f"    {line}" for line in lines) + "\n"
            "Run as it stands, with the defaults above, it is a quick smoke run on a small sample; its numbers are "
            "not the full-size results.\n")


def store_outputs(executed_path, paired_path, params_file: str) -> int:
    """Copy the outputs of ``executed_path`` (a papermill run of ``paired_path``) into ``paired_path``, atomically;
    return the number of code cells filled. Refuses a run whose cells are not those of the pair."""
    import nbformat

    executed = nbformat.read(executed_path, as_version=4)
    paired = nbformat.read(paired_path, as_version=4)
    injected = [c for c in executed.cells if INJECTED in _tags(c)]
    ran = [c for c in executed.cells if INJECTED not in _tags(c)]
    if len(ran) != len(paired.cells) or any(a.source != b.source or a.cell_type != b.cell_type
                                            for a, b in zip(ran, paired.cells)):
        raise CLIError(f"{executed_path} is not a run of {paired_path} as it stands (its cells differ); run "
                       f"`make sync` and `make figures` again")
    filled = 0
    for source_cell, target in zip(ran, paired.cells):
        if target.cell_type != "code":
            continue
        target.outputs = source_cell.get("outputs", [])
        target.execution_count = source_cell.get("execution_count")
        if "parameters" in _tags(target) and injected:
            note = parameters_note(injected[0].source, params_file)
            target.outputs = [nbformat.v4.new_output("stream", name="stdout", text=note)]
        filled += 1
    atomic_write_text(paired_path, nbformat.writes(paired) + "\n")
    return filled


def cmd_store_outputs(args) -> int:
    executed, paired = Path(args.executed), Path(args.paired)
    for path in (executed, paired):
        if not path.is_file():
            raise CLIError(f"{path} not found")
    filled = store_outputs(executed, paired, args.params)
    print(f"store-outputs: {filled} code cells of {paired} now show the run in {executed}")
    return 0
