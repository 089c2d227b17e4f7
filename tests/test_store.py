"""Writes are atomic: a failure leaves neither a partial file nor a temporary one."""

import pytest

from gdlab import store


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), store.atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_the_old_file_whole(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    store.write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_prepare_directory_rejects_unwritable_places(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(store.InvalidParameterError, match="'out'"):
        store.prepare_directory(blocker / "sub")
