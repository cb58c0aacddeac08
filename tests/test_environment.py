"""Project plumbing: environment.yml (Binder) mirrors requirements.txt (the reader's runtime) and holds no development
tool, make venv adds requirements-dev.txt, postBuild, the Makefile's help, CI entry, nbval sanitizers."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from mmr_utils.paths import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s#;]+)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(lines, source) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):  # blank, comment, or a pip option such as --extra-index-url
            continue
        match = PIN.match(line)
        assert match, f"{source}: {line!r} is not an exact pin name==version"
        assert normalise(match[1]) not in pins, f"{source}: {match[1]} listed twice"
        pins[normalise(match[1])] = match[2]
    return pins


def environment_pip_lines() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    return pip_sections[0]


def test_environment_and_requirements_pin_the_same_packages():
    requirements = parse_pins((ROOT / "requirements.txt").read_text().splitlines(), "requirements.txt")
    environment = parse_pins(environment_pip_lines(), "environment.yml")
    assert requirements, "requirements.txt pins nothing"
    assert sorted(set(requirements) - set(environment)) == [], "in requirements.txt only"
    assert sorted(set(environment) - set(requirements)) == [], "in environment.yml only"
    assert {k: v for k, v in environment.items() if requirements[k] != v} == {}, "versions differ"


DEV_TOOLS = {"pytest", "nbval", "hypothesis", "ruff", "pre-commit", "jupyter-book", "sphinx"}


def test_development_tools_are_pinned_apart_from_the_runtime_and_installed_by_make_venv():
    runtime = parse_pins((ROOT / "requirements.txt").read_text().splitlines(), "requirements.txt")
    dev = parse_pins((ROOT / "requirements-dev.txt").read_text().splitlines(), "requirements-dev.txt")
    environment = parse_pins(environment_pip_lines(), "environment.yml")
    assert set(dev) >= DEV_TOOLS, f"not in requirements-dev.txt: {sorted(DEV_TOOLS - set(dev))}"
    assert sorted(set(dev) & set(runtime)) == [], "pinned in both requirements files"
    assert sorted(set(dev) & set(environment)) == [], "development tools in environment.yml (Binder)"
    install = [line.strip() for line in (ROOT / "Makefile").read_text().splitlines() if "pip install" in line]
    assert any("-r requirements.txt" in line and "-r requirements-dev.txt" in line for line in install), install


def test_environment_pins_python_exactly():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pythons) == 1 and re.fullmatch(r"python=3\.11\.\d+", pythons[0]), pythons


def test_every_environment_dependency_line_says_which_notebook_needs_it():
    lines = (ROOT / "environment.yml").read_text().splitlines()
    items = [line for line in lines if line.lstrip().startswith("- ")]
    assert len(items) >= len(environment_pip_lines())
    uncommented = [line for line in items if not re.search(r"\s#\s*\S", line)]
    assert uncommented == []
    stems = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")}
    pins = [line for line in items if PIN.match(line.lstrip()[2:].split("#", 1)[0].strip())]
    no_notebook = [line.strip() for line in pins
                   if not set(re.findall(r"\b\d\d_[a-z_]+", line.split("#", 1)[1])) & stems
                   and "every notebook" not in line]
    assert no_notebook == [], "pins whose comment names no notebook"


def test_postbuild_installs_the_package_and_writes_data():
    post_build = ROOT / "postBuild"
    assert os.access(post_build, os.X_OK), "postBuild must be executable"
    commands = [line.strip() for line in post_build.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert "pip install --no-deps -e ." in commands
    assert any("load_benchmark(" in line and "scale=" in line for line in commands), "postBuild writes no data"
    assert subprocess.run(["bash", "-n", str(post_build)], capture_output=True).returncode == 0


def documented_targets() -> list[str]:
    return re.findall(r"^([A-Za-z0-9_-]+):[^\n]*?## ", (ROOT / "Makefile").read_text(), flags=re.M)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_defaults_to_help_listing_every_documented_target():
    assert re.search(r"^\.DEFAULT_GOAL\s*:?=\s*help\s*$", (ROOT / "Makefile").read_text(), flags=re.M)
    run = subprocess.run(["make", "-s", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    listed = [line.split()[0] for line in re.sub(r"\x1b\[[0-9;]*m", "", run.stdout).splitlines() if line.strip()]
    targets = documented_targets()
    assert len(targets) >= 5
    assert listed == targets


def test_ci_runs_make_test():
    commands = [line.split("#", 1)[0] for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert any(re.search(r"(^|\s)make\s+test(\s|$)", line) for line in commands)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    config = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    patterns = get_sanitize_patterns(config)
    assert len(patterns) == config.count("\nregex: ")
    for regex, replacement in patterns:
        text = re.sub(regex, replacement, text)
    return text


@pytest.mark.parametrize("volatile, expected", [
    (" 50%|#####     | 5/10 [00:01<00:01,  4.99it/s]", " TQDM-BAR"),
    ("run at 2026-05-09T07:35:25.123+00:00", "run at DATETIME"),
    ("on 2026-05-09 at 07:35:25", "on DATE at TIME"),
    ("fit took 1.25 s, predict 350ms", "fit took DURATION, predict DURATION"),
    ("<Figure size 640x480 at 0x7f3a2c1b4d90>", "<Figure size 640x480 at 0xADDRESS>"),
    ("wrote /tmp/pytest-of-root/pytest-3/test_x0/out.csv", "wrote TMP-PATH"),
    ("peak memory 512.3 MiB", "peak memory MEMORY"),
    ("encoded at 120.5 samples/s", "encoded at RATE"),
])
def test_sanitizers_mask_volatile_output(volatile, expected):
    assert sanitize(volatile) == expected


def test_sanitizers_keep_results():
    stable = "Qwen2.5-VL-7B  nAUC 0.8123  QNC 1.42  10370 instances  seed 0  MMStar"
    assert sanitize(stable) == stable
