"""WebDataset shards (img2dataset layout): the same records as the equivalent manifest."""

from __future__ import annotations

import io
import json
import tarfile

from scicmr.corpus.readers import detect_source_kind, read_source
from tests.factories.sources import ITEMS, comparable, image_bytes, write_manifest, write_shards


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_shards_give_the_records_of_the_equivalent_manifest(tmp_path):
    manifest = read_source(write_manifest(tmp_path / "m"), tmp_path / "lib-m", progress=False)
    shards = write_shards(tmp_path / "shards", per_shard=2)
    assert detect_source_kind(shards) == "webdataset" and detect_source_kind(shards / "00000.tar") == "webdataset"
    result = read_source(shards, tmp_path / "lib-w", progress=False)
    assert not result.skipped and result.notes["shards"] == 2
    assert comparable(result.records) == comparable(manifest.records)
    assert [r.source.file for r in result.records] == ["00000.tar", "00000.tar", "00001.tar"]
    for a, b in zip(manifest.records, result.records):
        assert (tmp_path / "lib-m" / a.image).read_bytes() == (tmp_path / "lib-w" / b.image).read_bytes()
    assert not {"status", "width", "key"} & set(result.records[0].extra)  # img2dataset bookkeeping


def test_one_shard_alone_and_samples_without_json_use_the_key(tmp_path):
    with tarfile.open(tmp_path / "one.tar", "w") as tar:
        _add(tar, "000007.png", image_bytes(1))
        _add(tar, "000007.txt", "a caption".encode())
        _add(tar, "000007.cls", b"physics")
        _add(tar, "README", b"not a sample")
    (record,) = read_source(tmp_path / "one.tar", tmp_path / "lib", progress=False).records
    assert (record.id, record.text, record.labels, record.kind) == ("000007", "a caption", ["physics"], "pair")
    assert record.image == "images/000007.png"


def test_bad_samples_are_skipped_and_a_damaged_shard_keeps_what_came_before(tmp_path):
    with tarfile.open(tmp_path / "s.tar", "w") as tar:
        _add(tar, "1.jpg", b"garbage")
        _add(tar, "1.txt", b"broken image")
        _add(tar, "2.json", b"{not json")
        _add(tar, "2.png", image_bytes(2))
        _add(tar, "3.png", image_bytes(3))
        _add(tar, "3.txt", b"fine")
        _add(tar, "3.json", json.dumps({"id": "three", "url": "https://e.org/3.png"}).encode())
    data = (tmp_path / "s.tar").read_bytes()
    result = read_source(tmp_path / "s.tar", tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["three"] and result.records[0].url == "https://e.org/3.png"
    reasons = {s.item: s.reason for s in result.skipped}
    assert reasons["s.tar:1"].startswith("image cannot be decoded") and "malformed JSON" in reasons["s.tar:2"]
    # Cut inside the third sample's members: the first samples are still reported, no exception.
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "c.tar").write_bytes(data[: len(data) // 2 + 100])
    cut = read_source(tmp_path / "cut", tmp_path / "lib2", progress=False)
    assert len(cut.records) + len(cut.skipped) >= 2
    assert len(ITEMS) == 3  # the factory's items, used by the equivalence test


def test_shards_numbering_their_samples_alike_give_one_record_each(tmp_path):
    (tmp_path / "shards").mkdir()
    for n, shard in enumerate(("00000.tar", "00001.tar")):
        with tarfile.open(tmp_path / "shards" / shard, "w") as tar:
            _add(tar, "000000.jpg", image_bytes(n, "jpg"))
            _add(tar, "000000.txt", f"caption {n}".encode())
            _add(tar, "sub/000000.png", image_bytes(n + 2))
            _add(tar, "sub/000000.txt", f"nested caption {n}".encode())
    result = read_source(tmp_path / "shards", tmp_path / "lib", progress=False)
    assert not result.skipped
    assert [(r.id, r.text, r.source.file) for r in result.records] == [
        ("00000-000000", "caption 0", "00000.tar"), ("00000-sub_000000", "nested caption 0", "00000.tar"),
        ("00001-000000", "caption 1", "00001.tar"), ("00001-sub_000000", "nested caption 1", "00001.tar")]


def test_a_folder_of_pdfs_and_shards_is_refused_not_read_as_one_of_them(tmp_path):
    import pytest

    from scicmr.errors import InputError

    write_shards(tmp_path / "mixed")
    (tmp_path / "mixed" / "paper.pdf").write_bytes(b"%PDF-1.4\n")
    with pytest.raises(InputError, match="both PDF papers and .tar WebDataset shards"):
        detect_source_kind(tmp_path / "mixed")
