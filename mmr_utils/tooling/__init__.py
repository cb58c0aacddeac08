"""Project tooling that runs notebooks or checks outputs; nothing here is imported by the analysis code."""
