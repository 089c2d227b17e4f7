"""examples/tour.ipynb runs in a Jupyter kernel of this interpreter and shows its figures.

The notebook turns on ``%matplotlib inline`` before it imports gdlab, as a user would; a
library that selected Agg on import would leave every figure cell without an image (what
the cells returned, ``<Axes ...>``, and nothing else).
"""

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tour.ipynb"
FIGURE_CELLS = ("article-figure", "run-figure", "own-axes", "sweep-heatmap")
KERNEL = "gdlab-test-python"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    # a kernel spec of this very interpreter, found first on JUPYTER_PATH: a user's own
    # "python3" kernel (another Python, without gdlab) cannot be picked by mistake
    jupyter = tmp_path_factory.mktemp("jupyter")
    kernelspec.write_kernel_spec(jupyter / "kernels" / KERNEL)
    spec = json.loads((jupyter / "kernels" / KERNEL / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(jupyter))
        patch.delenv("MPLBACKEND", raising=False)
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(
            "import sys\nprint(sys.prefix)", metadata={"tags": ["interpreter"]}))
        client = nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=180,
                                         resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    return notebook


def _tagged(notebook, tag):
    (cell,) = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    return cell


def test_the_kernel_is_this_interpreter(executed):
    outputs = _tagged(executed, "interpreter").outputs
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert Path(printed.strip()).resolve() == Path(sys.prefix).resolve()


@pytest.mark.parametrize("tag", FIGURE_CELLS)
def test_each_figure_cell_shows_an_image(executed, tag):
    outputs = _tagged(executed, tag).outputs
    images = [o for o in outputs if o.output_type == "display_data"
              and "image/png" in o.get("data", {})]
    assert len(images) == 1, [o.output_type for o in outputs]
    assert not [o for o in outputs if o.output_type == "error"]


def test_no_cell_fails_or_warns_about_the_backend(executed):
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output.get("evalue")
            text = output.get("text", "")
            assert "non-interactive" not in text and "cannot be shown" not in text


def test_the_notebook_is_committed_without_outputs():
    # outputs are made by running it; committed ones would go stale with the code
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
