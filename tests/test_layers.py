"""The layers of DESIGN.md hold: the import-linter contract of pyproject.toml passes, and no
two of gdlab's modules or packages import each other (docs/architecture.md)."""

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

grimp = pytest.importorskip("grimp")


@pytest.fixture(scope="module")
def graph():
    built = grimp.build_graph("gdlab", cache_dir=None)
    # gdlab/__init__ re-exports from every layer: it is the facade for users, not a module
    # the others build on, so the chains through it are not the packages' own
    for imported in built.find_modules_directly_imported_by("gdlab"):
        built.remove_import(importer="gdlab", imported=imported)
    return built


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_the_layers_contract_passes():
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_no_two_packages_import_each_other(graph):
    units = sorted(graph.find_children("gdlab"))
    cycles = [(a, b) for a, b in itertools.combinations(units, 2)
              if graph.chain_exists(importer=a, imported=b, as_packages=True)
              and graph.chain_exists(importer=b, imported=a, as_packages=True)]
    assert cycles == []


def test_plots_learn_nothing_from_sweeps_and_config_nothing_from_the_cli(graph):
    assert not graph.chain_exists(importer="gdlab.plots", imported="gdlab.sweeps",
                                  as_packages=True)
    for cli in ("gdlab.cli", "gdlab._cli_schedules", "gdlab._cli_sweep"):
        assert not graph.chain_exists(importer="gdlab.config", imported=cli)
