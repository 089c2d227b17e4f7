"""gdlab's executable cache: a program loaded from disk gives the bits of a normal call
(and the faithful article's NumPy transcription), and an entry that is corrupt, cut short
or written for another program is refused and replaced, never run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdlab
from gdlab import _executable_cache as xc
from gdlab import article, engine
from gdlab.sampling import make_sampler
from tests import reference


@pytest.fixture
def cache(tmp_path):
    previous = xc.directory()
    xc.set_directory(tmp_path)
    engine._simulate_batch.forget()
    xc.stats.clear()
    yield tmp_path
    xc.set_directory(previous)
    engine._simulate_batch.forget()


def _faithful_per_sample():
    """The faithful article's first experiment (its own program: 150 steps in order)."""
    experiment = article.experiments("faithful")[0]
    return experiment, article.run_experiment(experiment)


def _bits(trajectories):
    """Every array of the trajectories as bytes, in order."""
    out = []
    for t in trajectories:
        for name in ("step", "params", "batch_loss", "loss", "grad_norm", "full_grad_norm",
                     "learning_rate"):
            out.append(np.asarray(getattr(t, name)).tobytes())
        out.extend(np.asarray(v).tobytes() for v in t.internals.values())
        out.append(str(t.status).encode())
    return out


@pytest.fixture(scope="module")
def uncached():
    assert xc.directory() is None  # the library's default: off
    return _faithful_per_sample()[1]


def _entry(folder):
    (path,) = folder.glob(f"*{xc.SUFFIX}")
    return path


def test_a_loaded_program_gives_the_bits_of_a_normal_call(cache, uncached):
    experiment, first = _faithful_per_sample()
    assert xc.stats["miss"] == 1 and _entry(cache).stat().st_size > 0
    engine._simulate_batch.forget()  # as a new process would: only the file is left
    _, loaded = _faithful_per_sample()
    assert xc.stats["hit"] == 1 and xc.stats["refused"] == 0
    assert _bits(first) == _bits(uncached) and _bits(loaded) == _bits(uncached)
    problem = experiment.problem
    X, Y, N = problem.X[:, 0], problem.y, problem.num_examples
    for lr, trajectory in zip(article.ARTICLE_RATES, loaded, strict=True):
        expected = reference.article_sgd(X, Y, lr, 10.0, N)
        np.testing.assert_allclose(trajectory.params[:, 0], expected["w"], rtol=1e-12)


def _damage(path, how):
    blob = bytearray(path.read_bytes())
    if how == "flipped byte":
        blob[-100] ^= 0x40  # inside the serialized executable
    elif how == "cut short":
        blob = blob[: len(blob) // 2]
    elif how == "another program":
        # a valid entry (its digest matches) for a program of 151 steps
        text_start = len(xc.FORMAT) + blob[len(xc.FORMAT):].index(b"\n") + 1
        header = blob[len(xc.FORMAT):text_start - 1].decode()
        length = int(header.split()[0])
        text = blob[text_start:text_start + length].decode()
        assert "static num_steps = int:150" in text
        text = text.replace("static num_steps = int:150", "static num_steps = int:151")
        new = text.encode()
        blob = (blob[:len(xc.FORMAT)] + f"{len(new)} {header.split()[1]}\n".encode() + new
                + blob[text_start + length:])
    elif how == "not an entry":
        blob = bytearray(b"garbage")
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("how", ["flipped byte", "cut short", "another program",
                                 "not an entry"])
def test_a_damaged_or_foreign_entry_is_refused_and_rewritten(cache, uncached, how):
    _faithful_per_sample()
    path = _entry(cache)
    _damage(path, how)
    damaged = path.read_bytes()
    engine._simulate_batch.forget()
    xc.stats.clear()
    _, again = _faithful_per_sample()
    assert xc.stats["refused"] == 1 and xc.stats["miss"] == 1 and xc.stats["hit"] == 0
    assert _bits(again) == _bits(uncached)
    assert path.read_bytes() != damaged  # rewritten, and it loads:
    engine._simulate_batch.forget()
    _faithful_per_sample()
    assert xc.stats["hit"] == 1


def _double(x):
    return 2 * x


def test_values_gdlab_cannot_describe_are_compiled_as_usual(cache):
    scale = 3.0
    for value in (lambda x: x, _double, object(), jnp.zeros(2), lambda: scale,
                  {"f": _double}, (1, _double)):
        with pytest.raises(xc.Undescribed):
            xc.describe(value)
    program = xc.CachedProgram(jax.jit(_double))  # not gdlab's: never stored
    assert float(program(jnp.float64(2.0))) == 4.0
    assert xc.stats["undescribed"] == 1 and not list(cache.iterdir())


def test_descriptions_tell_apart_what_changes_the_program(monkeypatch):
    assert len({xc.describe(v) for v in (1, 1.0, True, "1", (1,), [1], None)}) == 7
    assert xc.describe(0.1) != xc.describe(np.nextafter(0.1, 1.0))
    assert xc.describe(make_sampler("replacement", 150, 5)) != \
        xc.describe(make_sampler("replacement", 150, 5, population=100))
    spec = gdlab.optimizer("momentum")
    built = engine.prepare(gdlab.article_regression(), spec).build
    assert "gdlab.optimizers" in xc.describe(built) and "pytorch" in xc.describe(built)
    jitted = engine._simulate_batch._jitted
    args = (jnp.zeros((3, 2)), {"a": jnp.zeros(2, jnp.float32)})

    def text(*arrays, **static):
        return xc.describe_program(jitted, arrays, {"num_steps": 5, **static})

    base = text(*args)
    assert base == text(*args)  # the same in every call (no object addresses)
    assert base != text(jnp.zeros((3, 3)), args[1])
    assert base != text(args[0], {"a": jnp.zeros(2, jnp.float64)})
    assert base != text(*args, record_every=2)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=SSE4_2")
    assert base != text(*args)


SCRIPT = """
import json, sys
import jax
from gdlab import _executable_cache as xc, engine
from gdlab.article import experiments, run_experiment
from gdlab.compilation_cache import enable_compilation_cache

folder = enable_compilation_cache(sys.argv[1])
experiment = experiments("faithful")[0]
captured = {}
call = xc.CachedProgram.__call__

def spy(self, *args, **static):
    captured.update(args=args, static=static)
    return call(self, *args, **static)

xc.CachedProgram.__call__ = spy

def bits():
    engine._simulate_batch.forget()  # keep only what is on disk, as a new process would
    jax.clear_caches()
    return [t.params.tobytes().hex() + t.batch_loss.tobytes().hex()
            for t in run_experiment(experiment)]

xc.set_directory(None)
reference = bits()  # a normal call; JAX's persistent cache now holds the program
xc.set_directory(folder / "executables")
runs = {"jax cache holds it": bits(), "loaded": bits()}
seen = dict(xc.stats)
# what JAX loads from its own cache loses its kernels when serialized again: stored
# anyway, such an entry loads but cannot run, and is refused then
(path,) = (folder / "executables").glob("*" + xc.SUFFIX)
again = engine._simulate_batch._jitted.lower(*captured["args"], **captured["static"]).compile()
text = xc.describe_program(engine._simulate_batch._jitted, captured["args"],
                           captured["static"])
xc.store(path, text, again)
xc.stats.clear()
runs["broken entry"] = bits()
print(json.dumps({"same": {k: v == reference for k, v in runs.items()}, "seen": seen,
                  "after": dict(xc.stats)}))
"""


def test_an_executable_from_jaxs_own_cache_is_not_stored_and_a_broken_one_is_refused(
        tmp_path):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(result["same"].values()), result
    assert result["seen"] == {"miss": 1, "hit": 1}, result
    assert result["after"] == {"refused": 1, "miss": 1}, result
