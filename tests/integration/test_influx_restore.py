"""Safe restore of influxdb-data.tar.gz: layouts, malicious archives, cleanup."""

from __future__ import annotations

import gzip
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from influx_helpers import add_dir, add_file, add_link, influx_layout, run_dirs

from ombt_postmortem.errors import RunDataError
from ombt_postmortem.influx.restore import restored


@pytest.fixture
def tmp_root(tmp_path: Path) -> Path:
    d = tmp_path / "tmp-root"
    d.mkdir()
    return d


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the extraction root that no member may touch."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "victim").write_text("original")
    return d


def build(path: Path, fill, compress: bool = True) -> Path:
    with tarfile.open(path, "w:gz" if compress else "w") as tf:
        fill(tf)
    return path


def test_real_fixture_restores_and_is_removed(tmp_root: Path) -> None:
    tar = run_dirs()[0] / "influxdb-data.tar.gz"
    with restored("r0", tar, 4096, tmp_root=tmp_root) as d:
        assert d.name == "influxdb-data"
        assert {p.name for p in d.iterdir()} == {"meta", "data", "wal"}
        assert (d / "meta" / "meta.db").stat().st_size > 0
        # identical content to a plain tar extraction
        ref = tmp_root.parent / "ref"
        ref.mkdir()
        subprocess.run(["tar", "xzf", str(tar), "-C", str(ref)], check=True)
        ours = sorted(str(p.relative_to(d)) for p in d.rglob("*"))
        theirs = sorted(str(p.relative_to(ref / "influxdb-data"))
                        for p in (ref / "influxdb-data").rglob("*"))
        assert ours == theirs
        for rel in ours:
            if (d / rel).is_file():
                assert (d / rel).read_bytes() == (ref / "influxdb-data" / rel).read_bytes()
        assert d.is_relative_to(tmp_root)
    assert list(tmp_root.iterdir()) == []


def test_temp_folder_removed_on_exception(tmp_root: Path) -> None:
    tar = run_dirs()[0] / "influxdb-data.tar.gz"
    with pytest.raises(KeyError), restored("r0", tar, 4096, tmp_root=tmp_root) as d:
        os.chmod(d / "data", 0o000)  # even a folder we cannot enter goes away
        raise KeyError("boom")
    assert list(tmp_root.iterdir()) == []


@pytest.mark.parametrize("prefix", ["influxdb-data/", "./influxdb-data/", "var/lib/influxdb/",
                                    "", "./", "backup/deep/x/"])
def test_finds_the_data_folder(tmp_path: Path, tmp_root: Path, prefix: str) -> None:
    tar = build(tmp_path / "influxdb-data.tar.gz", lambda tf: influx_layout(tf, prefix))
    with restored("r", tar, 10, tmp_root=tmp_root) as d:
        assert (d / "meta" / "meta.db").read_bytes() == b"m"
        assert (d / "data").is_dir()
        root = next(tmp_root.iterdir()) / "x"
        assert d == root.joinpath(*[p for p in prefix.split("/") if p not in ("", ".")])
    assert list(tmp_root.iterdir()) == []


def test_internal_symlink_is_allowed(tmp_path: Path, tmp_root: Path) -> None:
    def fill(tf: tarfile.TarFile) -> None:
        influx_layout(tf)
        add_link(tf, "influxdb-data/wal/link", "../meta/meta.db")
        add_link(tf, "influxdb-data/wal/hard", "influxdb-data/meta/meta.db", hard=True)

    tar = build(tmp_path / "influxdb-data.tar.gz", fill)
    with restored("r", tar, 10, tmp_root=tmp_root) as d:
        assert (d / "wal" / "link").read_bytes() == b"m"
        assert (d / "wal" / "hard").read_bytes() == b"m"


def _abs(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_file(tf, "/tmp/ombt-evil-absolute", b"evil")


def _dotdot(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_file(tf, "influxdb-data/../../outside/victim", b"evil")


def _symlink_out(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_link(tf, "influxdb-data/data/escape", "../../../outside")


def _symlink_abs(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_link(tf, "influxdb-data/data/escape", "/etc")


def _symlink_then_write(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_link(tf, "influxdb-data/esc", "../../outside")
    add_file(tf, "influxdb-data/esc/victim", b"evil")


def _hardlink_out(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_link(tf, "influxdb-data/data/h", "../outside/victim", hard=True)


def _hardlink_abs(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_link(tf, "influxdb-data/data/h", "/etc/passwd", hard=True)


def _fifo(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    info = tarfile.TarInfo("influxdb-data/data/fifo")
    info.type = tarfile.FIFOTYPE
    tf.addfile(info)


def _no_data_folder(tf: tarfile.TarFile) -> None:
    add_dir(tf, "influxdb-data")
    add_dir(tf, "influxdb-data/meta")
    add_file(tf, "influxdb-data/meta/meta.db")
    add_file(tf, "influxdb-data/data", b"a file, not a folder")


def _bomb(tf: tarfile.TarFile) -> None:
    influx_layout(tf)
    add_file(tf, "influxdb-data/data/zeros", bytes(3 * 1024 * 1024))


def _symlink_chain(tf: tarfile.TarFile) -> None:
    """Each link is inside when made; the second turns the first into an escape."""
    influx_layout(tf)
    add_link(tf, "influxdb-data/a", "c/d/b/../../..")
    add_dir(tf, "influxdb-data/c")
    add_dir(tf, "influxdb-data/c/d")
    add_link(tf, "influxdb-data/c/d/b", "../..")


def _symlink_chain_then_mkdir(tf: tarfile.TarFile) -> None:
    _symlink_chain(tf)
    add_dir(tf, "influxdb-data/a/pwned")
    add_file(tf, "influxdb-data/a/pwned-file", b"evil")


@pytest.mark.parametrize(("fill", "words"), [
    (_symlink_chain, "resolves outside"),
    (_symlink_chain_then_mkdir, "outside"),
    (_abs, "absolute"),
    (_dotdot, "'..'"),
    (_symlink_out, "outside"),
    (_symlink_abs, "outside"),
    (_symlink_then_write, "outside"),
    (_hardlink_out, "outside"),
    (_hardlink_abs, "outside"),
    (_fifo, "special"),
    (_no_data_folder, "no folder holding both meta/ and data/"),
    (_bomb, "cap of 1 MB"),
])
def test_malicious_or_broken_archives(tmp_path: Path, tmp_root: Path, outside: Path,
                                      fill, words: str) -> None:
    tar = build(tmp_path / "influxdb-data.tar.gz", fill)
    with pytest.raises(RunDataError) as err, restored("run-7", tar, 1, tmp_root=tmp_root):
        pytest.fail("must not get here")
    text = str(err.value)
    assert "run run-7" in text and "influxdb-data.tar.gz" in text and words in text, text
    assert err.value.run == "run-7" and err.value.path == str(tar)
    assert (outside / "victim").read_text() == "original"
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert not Path("/tmp/ombt-evil-absolute").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["influxdb-data.tar.gz", "outside",
                                                          "tmp-root"]
    assert list(tmp_root.iterdir()) == []


def test_sparse_member_is_counted_by_real_bytes(tmp_path: Path, tmp_root: Path) -> None:
    """A GNU sparse member stores little but expands to its real size: counted as written."""
    src = tmp_path / "src" / "influxdb-data"
    for sub in ("meta", "data", "wal"):
        (src / sub).mkdir(parents=True)
    (src / "meta" / "meta.db").write_bytes(b"m")
    with open(src / "data" / "sparse", "wb") as f:
        f.truncate(64 * 1024 * 1024)
        f.write(b"head")
    tar = tmp_path / "influxdb-data.tar.gz"
    subprocess.run(["tar", "--sparse", "-czf", str(tar), "-C", str(src.parent), "influxdb-data"],
                   check=True)
    assert tar.stat().st_size < 100_000
    with pytest.raises(RunDataError, match="cap of 8 MB"), \
            restored("r", tar, 8, tmp_root=tmp_root):
        pass
    assert list(tmp_root.iterdir()) == []
    with restored("r", tar, 100, tmp_root=tmp_root) as d:
        assert (d / "data" / "sparse").stat().st_size == 64 * 1024 * 1024
    assert list(tmp_root.iterdir()) == []


def test_not_gzip(tmp_path: Path, tmp_root: Path) -> None:
    plain = build(tmp_path / "influxdb-data.tar.gz", influx_layout, compress=False)
    with pytest.raises(RunDataError, match=r"\(influxdb-data.tar.gz\).*not a gzip"), \
            restored("r", plain, 10, tmp_root=tmp_root):
        pass
    junk = tmp_path / "junk" / "influxdb-data.tar.gz"
    junk.parent.mkdir()
    junk.write_bytes(b"this is not an archive at all")
    with pytest.raises(RunDataError, match="not a gzip"), restored("r", junk, 10,
                                                                    tmp_root=tmp_root):
        pass
    gz_not_tar = tmp_path / "gz" / "influxdb-data.tar.gz"
    gz_not_tar.parent.mkdir()
    gz_not_tar.write_bytes(gzip.compress(b"hello, plain text " * 100))
    with pytest.raises(RunDataError, match="influxdb-data.tar.gz"), \
            restored("r", gz_not_tar, 10, tmp_root=tmp_root):
        pass
    assert list(tmp_root.iterdir()) == []


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated(tmp_path: Path, tmp_root: Path, keep: float) -> None:
    full = run_dirs()[0] / "influxdb-data.tar.gz"
    data = full.read_bytes()
    tar = tmp_path / "influxdb-data.tar.gz"
    tar.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(RunDataError, match=r"\(influxdb-data.tar.gz\).*(truncated|corrupt)"), \
            restored("r", tar, 4096, tmp_root=tmp_root):
        pass
    assert list(tmp_root.iterdir()) == []


def test_missing_tar(tmp_path: Path, tmp_root: Path) -> None:
    with pytest.raises(RunDataError, match=r"influxdb-data.tar.gz.*missing"), \
            restored("r", tmp_path / "influxdb-data.tar.gz", 10, tmp_root=tmp_root):
        pass
    assert list(tmp_root.iterdir()) == []


def test_many_empty_members_count_against_the_cap(tmp_path: Path, tmp_root: Path) -> None:
    def fill(tf: tarfile.TarFile) -> None:
        influx_layout(tf)
        for i in range(3000):  # 3000 headers * 512 bytes > 1 MiB
            add_file(tf, f"influxdb-data/data/e{i}", b"")

    tar = build(tmp_path / "influxdb-data.tar.gz", fill)
    with pytest.raises(RunDataError, match="cap of 1 MB"), restored("r", tar, 1,
                                                                     tmp_root=tmp_root):
        pass
    assert list(tmp_root.iterdir()) == []


def test_default_tmp_root_is_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tar = build(tmp_path / "influxdb-data.tar.gz", influx_layout)
    with restored("r", tar, 10) as d:
        assert d.is_relative_to(tmp_path)
        made = d.parents[1]
    assert not made.exists()
