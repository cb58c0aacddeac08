"""Progress bars (mmr_utils._progress): drawn where someone watches, silent under MMR_PROGRESS=0 and in captured
output, and never changing what a loop sees."""

import io

import pytest

from mmr_utils import _progress


@pytest.mark.parametrize("value, drawn", [("0", False), ("off", False), ("1", True), ("yes", True)])
def test_the_environment_variable_switches_bars(monkeypatch, value, drawn):
    monkeypatch.setenv(_progress.ENV, value)
    bar = _progress.progress(range(3), desc="x")
    assert bar.disable is (not drawn)
    assert list(bar) == [0, 1, 2]


def test_auto_is_silent_when_stderr_is_not_a_terminal_and_no_kernel_runs(monkeypatch):
    monkeypatch.delenv(_progress.ENV, raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not _progress.in_jupyter()
    assert _progress.bars_enabled() is False
    assert list(_progress.progress(iter("ab"), desc="x", total=2)) == ["a", "b"]


def test_enabled_false_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(_progress.ENV, "1")
    assert _progress.progress([1], desc="x", enabled=False).disable


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv(_progress.ENV, "maybe")
    with pytest.raises(ValueError, match=r"\$MMR_PROGRESS='maybe': expected 0, 1 or auto"):
        _progress.progress([1], desc="x")
