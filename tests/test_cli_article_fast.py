"""The console script's own parse of ``gdlab article`` (no Typer, no pydantic) calls the
article exactly as Typer's parse does, and leaves every other form of the command to
Typer."""

import subprocess
import sys

import pytest
import typer.testing

import gdlab.article_files
from gdlab import cli


class _Called(Exception):
    pass


@pytest.fixture
def calls(monkeypatch):
    """What ``article`` passed to ``write_article`` (which then stops the command)."""
    seen = []

    def write_article(out, **options):
        seen.append({"out": out, **options})
        raise _Called

    monkeypatch.setattr(gdlab.article_files, "write_article", write_article)
    return seen


def _through_typer(argv, calls):
    result = typer.testing.CliRunner().invoke(cli.app, argv)
    if isinstance(result.exception, _Called):
        return calls.pop()
    return ("exit", result.exit_code)


def _through_console_script(argv, calls, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["gdlab", *argv])
    with pytest.raises(_Called):
        cli.app()
    return calls.pop()


PLAIN = [
    ["article"],
    ["article", "--faithful"],
    ["article", "--out", "somewhere/else", "--faithful"],
    ["article", "--out=", "--seed", "7"],
    ["article", "--seed=007", "--format", "svg", "--out", "a b"],
    ["article", "--format=png", "--seed", "4294967295"],
    ["article", "--out", "x=y"],
]

OTHERS = [
    ["article", "--help"],
    ["article", "--seed", "-1"],
    ["article", "--seed", "1.5"],
    ["article", "--seed", "+3"],
    ["article", "--format", "PNG"],
    ["article", "--faithful", "--faithful"],
    ["article", "--faithful=1"],
    ["article", "--out"],
    ["article", "--out", "--faithful"],
    ["article", "extra"],
    ["article", "--outt", "x"],
    ["run", "--steps", "3"],
    [],
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_forms_call_the_article_as_typer_does(argv, calls, monkeypatch):
    assert cli._article_options(argv) is not None
    expected = _through_typer(argv, calls)
    assert _through_console_script(argv, calls, monkeypatch) == expected


@pytest.mark.parametrize("argv", OTHERS, ids=lambda a: " ".join(a) or "(none)")
def test_every_other_form_is_left_to_typer(argv):
    assert cli._article_options(argv) is None


def test_the_console_script_runs_the_article_without_pydantic(tmp_path):
    # a refused seed: write_article checks it before any work, then the exit code is 2
    code = ("import sys\n"
            "from gdlab.cli import app\n"
            f"sys.argv = ['gdlab', 'article', '--seed', '99999999999', '--out', "
            f"{str(tmp_path / 'out')!r}]\n"
            "try:\n"
            "    app()\n"
            "except SystemExit as exit:\n"
            "    print('pydantic' in sys.modules, 'typer._adapters' in sys.modules)\n"
            "    sys.exit(exit.code)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "seed" in done.stderr and done.stdout.split() == ["False", "False"]
    assert not (tmp_path / "out").exists()
