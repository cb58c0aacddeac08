"""make figures stores its full-size outputs in the paired notebooks: cell by cell, sources untouched, with a note
under the parameters cell naming the parameters that made them."""

import nbformat
import pytest

from mmr_utils.cli import CLIError
from tools.stored_outputs import store_outputs


def _paired():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_code_cell("scale: float = 0.03  # size", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(scale)")]
    return nb


def _executed(paired):
    nb = nbformat.from_dict(paired)
    injected = nbformat.v4.new_code_cell("# Parameters\nscale = 1.0\nseeds = [0, 1, 2]\n",
                                         metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(2, injected)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1.0\n")]
    nb.cells[3].execution_count = 3
    return nb


def test_outputs_are_copied_and_the_parameters_cell_names_the_full_size_run(tmp_path):
    paired, executed = tmp_path / "03.ipynb", tmp_path / "run.ipynb"
    nbformat.write(_paired(), paired)
    nbformat.write(_executed(_paired()), executed)
    assert store_outputs(executed, paired, "notebooks/params/03.full.yaml") == 2
    stored = nbformat.read(paired, as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in _paired().cells]  # the pair stays in sync
    assert stored.cells[2].outputs[0]["text"] == "1.0\n" and stored.cells[2].execution_count == 3
    note = stored.cells[1].outputs[0]["text"]
    assert "notebooks/params/03.full.yaml" in note and "scale = 1.0" in note and "seeds = [0, 1, 2]" in note
    assert "smoke run" in note


def test_a_run_of_another_version_of_the_notebook_is_refused(tmp_path):
    paired, executed = tmp_path / "03.ipynb", tmp_path / "run.ipynb"
    nbformat.write(_paired(), paired)
    other = _executed(_paired())
    other.cells[3].source = "print(scale * 2)"
    nbformat.write(other, executed)
    before = paired.read_bytes()
    with pytest.raises(CLIError, match="is not a run of .*03.ipynb as it stands"):
        store_outputs(executed, paired, "params.yaml")
    assert paired.read_bytes() == before
