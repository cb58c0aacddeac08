"""Project tooling outside the package: notebook execution and pair check, sweeps, the figures check, the book.

Run by the Makefile (``python -m tools ...``); nothing in ``mmr_utils`` imports it, so editing it changes no result.
"""
