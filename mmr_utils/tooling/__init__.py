"""Project tooling that runs notebooks or checks outputs; nothing here is imported by the analysis code.

- :mod:`.notebooks`: jupytext pair check, notebook execution with papermill, run records;
- :mod:`.sweep`: parameter sweeps over a notebook (joblib backends), aggregated to one CSV;
- :mod:`.figures_check`, :mod:`.book`, :mod:`.book_screenshots`: output checks and the book.

The command line (:mod:`mmr_utils.cli`) only parses arguments and calls these.
"""


class CLIError(RuntimeError):
    """An expected failure of a subcommand; its message is all the user needs to see."""
