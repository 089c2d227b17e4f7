"""What importing gdlab and running ``gdlab article`` load: never the table and cluster
stack (pandas, pyarrow, Dask, pydantic; about 0.6 s of a 2-4 s command), and every public
name still there, the lazy ones (PEP 562) included."""

import json
import subprocess
import sys

import pytest

import gdlab
import gdlab.plots

HEAVY = ("pandas", "pyarrow", "dask", "distributed", "pydantic")

REPORT = (
    "import json, sys\n"
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})))\n"
)


def _loaded_after(code: str, *, heavy=HEAVY) -> list[str]:
    """The modules of the ``heavy`` packages loaded after running ``code`` in a fresh
    interpreter (this one has pandas loaded by other tests)."""
    done = subprocess.run([sys.executable, "-c", code + "\n" + REPORT.format(heavy=set(heavy))],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_article_commands_imports_load_no_table_or_cluster_library():
    # everything `gdlab article` imports, from the console script to the report
    code = ("import gdlab, gdlab.cli, gdlab.article, gdlab.article_files, gdlab.plots, "
            "gdlab.plots.article, gdlab.report, gdlab.compilation_cache")
    assert _loaded_after(code) == []


def test_running_gdlab_article_loads_neither_pandas_nor_dask(tmp_path):
    # pyarrow writes runs.parquet (built from buffers: pa.array would import pandas);
    # typer (0.29) imports pydantic itself to convert option values, so here pydantic may
    # come only through typer, never through gdlab's own config models
    code = ("from gdlab.cli import app\n"
            "try:\n"
            f"    app(['article', '--faithful', '--out', {str(tmp_path)!r}])\n"
            "except SystemExit as exit:\n"
            "    assert not exit.code, exit.code\n"
            "import sys\n"
            "assert 'gdlab.config' not in sys.modules and 'gdlab.sweeps' not in sys.modules\n"
            "assert 'pydantic' not in sys.modules or 'typer._adapters' in sys.modules\n")
    assert _loaded_after(code, heavy=("pandas", "dask", "distributed")) == []
    assert (tmp_path / "runs.parquet").exists()
    import pandas as pd

    runs = pd.read_parquet(tmp_path / "runs.parquet")
    assert len(runs.groupby(["experiment", "run"])) == 9 and runs["b_w"].notna().any()
    assert runs.loc[runs["optimizer"].str.startswith("sgd"), "b_w"].isna().all()


def test_importing_gdlab_loads_no_sweep_machinery():
    code = "import gdlab, sys\nassert 'gdlab.sweeps' not in sys.modules, 'sweeps'"
    assert _loaded_after(code) == []


@pytest.mark.parametrize("module", [gdlab, gdlab.plots], ids=lambda m: m.__name__)
def test_every_public_name_resolves_and_is_listed(module):
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in dir(module), name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


def test_lazy_names_are_the_objects_of_their_modules():
    import gdlab.lr_finder
    import gdlab.plots.sweeps
    import gdlab.sweeps

    assert gdlab.sweep is gdlab.sweeps.sweep and gdlab.SweepResult is gdlab.sweeps.SweepResult
    assert gdlab.lr_find is gdlab.lr_finder.lr_find
    assert gdlab.plots.plot_heatmap is gdlab.plots.sweeps.plot_heatmap


def test_a_fresh_interpreter_resolves_every_lazy_name():
    # the star imports go through __all__ and __getattr__; the sweeps then load pandas
    code = ("from gdlab import *\n"
            "from gdlab.plots import *\n"
            "import gdlab\n"
            "assert sweep is gdlab.sweeps.sweep and callable(plot_heatmap)\n"
            "assert gdlab.store.write_json and gdlab.status.DIVERGED\n")
    assert "pandas" in _loaded_after(code, heavy=("pandas",))
