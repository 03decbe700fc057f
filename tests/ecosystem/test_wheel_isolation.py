"""A regular install runs the suite it installed, once, whatever directory it starts from.

Issue 12, item 5: the wheel is built and installed (not editable) into a fresh virtual
environment, and `snapconform run` is started (a) from a project directory that holds a
``snapconform/`` folder whose ``__init__.py`` raises, a ``pyproject.toml`` with hostile pytest
settings (``testpaths``, ``addopts`` with ``-k`` and ``-p no:...``), a ``conftest.py`` that
raises, with ``PYTEST_ADDOPTS`` set; (b) from a checkout of this repository; (c) from an empty
directory. Each run must check every requirement of the catalogue exactly once, from the
installed package's suite (``snapconform._suite``), and reach the same verdict.

The fresh environment gets snapconform only from the wheel; its dependencies come from this test
environment's site-packages through a ``.pth`` line (no network needed; a ``.pth`` line adds a
directory to ``sys.path`` without running that directory's own ``.pth`` files, so this
environment's editable install of the checkout stays invisible — asserted below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest

from snapconform.contracts import default_contracts
from snapconform.engine.requirements import CATALOGUE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_ADDOPTS = "-k nothing_matches -x -p no:allure_pytest -p no:snapconform"


#: what a copy of the checkout leaves out: environments, outputs, build state
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "reports",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".hypothesis",
    ".ruff_cache",
    ".tox",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout (setuptools builds in the source tree)."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w",
         str(work / "dist")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (built_wheel,) = (work / "dist").glob("snapconform-*.whl")
    return built_wheel


def test_the_wheel_adds_one_top_level_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"snapconform"}
    # the repository's top-level folders, mapped inside the one package
    for inside in (
        "snapconform/strategies/filters.py",
        "snapconform/_contracts/summary.schema.json",
        "snapconform/_contracts/schemas/ListResult.json",
        "snapconform/_suite/test_cap.py",
    ):
        assert inside in names, inside
    # every package of the checkout ships (a new subpackage needs no packaging edit)
    for init in sorted((ROOT / "snapconform").rglob("__init__.py")):
        assert init.relative_to(ROOT).as_posix() in names, init
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "pytest11" not in text and "snapconform = snapconform.cli:console_main" in text


def test_the_installed_strategies_import_as_part_of_snapconform(installed: Path) -> None:
    probe = (
        "import importlib.util, snapconform.strategies.filters as f, snapconform;"
        "assert importlib.util.find_spec('strategies') is None;"
        "print(f.__file__, snapconform.__version__)"
    )
    completed = subprocess.run(
        [str(installed / "python"), "-P", "-c", probe],
        capture_output=True, text=True, timeout=120, cwd=installed, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    where, version = completed.stdout.split()
    assert Path(where).parts[-3:] == ("snapconform", "strategies", "filters.py")
    assert "site-packages" in Path(where).parts
    assert version == __import__("snapconform").__version__


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh venv with the built wheel installed (not editable)."""
    work = tmp_path_factory.mktemp("wheel")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # dependencies from this environment, after the fresh one's own site-packages
    (Path(site) / "zz_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    where = subprocess.run(
        [str(python), "-P", "-c", "import snapconform; print(snapconform.__file__)"],
        capture_output=True, text=True, check=True, cwd=work,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(Path(site)), f"snapconform imported from {where}"
    return venv / "bin"


def _hostile_project(directory: Path) -> Path:
    (directory / "snapconform").mkdir(parents=True)
    (directory / "snapconform" / "__init__.py").write_text(
        'raise RuntimeError("the working directory shadowed the installed snapconform")\n'
    )
    (directory / "snapconform" / "settings.toml").write_text('base_url = "not this"\n')
    (directory / "pyproject.toml").write_text(
        f'[tool.pytest.ini_options]\ntestpaths = ["nowhere"]\naddopts = "{HOSTILE_ADDOPTS}"\n'
    )
    (directory / "conftest.py").write_text(
        'raise RuntimeError("a conftest.py above the suite was imported")\n'
    )
    return directory


def _run(bin_dir: Path, cwd: Path, report_dir: Path) -> tuple[dict[str, Any], ET.Element, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SNAPCONFORM_", "PYTEST_", "PYTHONPATH", "VIRTUAL_ENV"))
    }
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTEST_ADDOPTS=HOSTILE_ADDOPTS)
    completed = subprocess.run(
        [str(bin_dir / "snapconform"), "run", "--seed", "3", "--max-examples", "2",
         "--report-dir", str(report_dir)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=1200, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert default_contracts().errors("summary", summary) == []
    return summary, ET.parse(report_dir / "junit.xml").getroot(), output


def _requirement_cases(junit: ET.Element) -> list[ET.Element]:
    return [c for c in junit.iter("testcase") if c.get("classname") != "snapconform"]


def test_the_installed_suite_runs_once_from_any_directory(installed: Path, tmp_path: Path) -> None:
    hostile = _hostile_project(tmp_path / "project")
    neutral = tmp_path / "empty"
    neutral.mkdir()
    runs = {
        "hostile project": _run(installed, hostile, tmp_path / "r-hostile"),
        "checkout": _run(installed, ROOT, tmp_path / "r-checkout"),
        "empty directory": _run(installed, neutral, tmp_path / "r-empty"),
    }
    ids = [r.id for r in CATALOGUE]
    outcomes = {}
    for where, (summary, junit, output) in runs.items():
        assert summary["verdict"] == "conformant", (where, output[-3000:])
        assert [r["id"] for r in summary["requirements"]] == ids, where
        cases = _requirement_cases(junit)
        # every requirement judged exactly once, by the installed package (no project's tests)
        assert len(cases) == len(ids), (where, [c.get("classname") for c in cases])
        assert {c.get("classname", "").split(".")[0] for c in cases} == {"snapconform"}, where
        assert len({(c.get("classname"), c.get("name")) for c in cases}) == len(ids), where
        assert "RuntimeError" not in output, where
        outcomes[where] = {r["id"]: r["outcome"] for r in summary["requirements"]}
    assert outcomes["hostile project"] == outcomes["empty directory"] == outcomes["checkout"]
