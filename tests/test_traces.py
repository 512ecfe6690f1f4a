"""Mask traces: round trip, and every malformed file is a clean HwsimError naming file and key."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.sparsity.masks import pack
from hwsim.sparsity.traces import load_trace, load_trace_meta, save_trace


def _masks() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "layer0.ffn.down": rng.random((17, 77)) < 0.1,  # K not a multiple of 8
        "blocks/1/attn.out": rng.random((3, 64)) < 0.5,
        "empty": np.zeros((0, 9), dtype=bool),
    }


def _write(path: Path, **arrays: np.ndarray) -> Path:
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


def _valid_arrays() -> dict[str, np.ndarray]:
    mask = np.random.default_rng(1).random((4, 13)) < 0.5
    return {"format_version": np.array(1), "mask/op": pack(mask), "k_dim/op": np.array(13)}


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(HwsimError) as info:
        load_trace(path, **kwargs)
    text = str(info.value)
    assert str(path) in text, "the error names the file"
    return text


def test_round_trip(tmp_path: Path) -> None:
    masks = _masks()
    path = save_trace(tmp_path / "trace", masks, {"model": "opt-125m", "note": "ünïcode"})
    assert path == tmp_path / "trace" and path.is_file()  # no suffix appended
    loaded = load_trace(path)
    assert sorted(loaded) == sorted(masks)
    for name, mask in masks.items():
        assert loaded[name].k_dim == mask.shape[1]
        np.testing.assert_array_equal(loaded[name].to_bool(), mask)
        np.testing.assert_array_equal(loaded[name].bits, pack(mask))
    assert load_trace_meta(path) == {"model": "opt-125m", "note": "ünïcode"}
    with np.load(path, allow_pickle=False) as npz:
        assert int(npz["format_version"]) == 1
        assert npz["mask/layer0.ffn.down"].dtype == np.uint8


def test_object_array_is_rejected_without_unpickling(tmp_path: Path) -> None:
    arrays = _valid_arrays()
    arrays["mask/op"] = np.array([{"payload": 1}, None], dtype=object)
    path = tmp_path / "pickled.npz"
    with path.open("wb") as handle:
        np.savez(handle, **arrays)  # object arrays are pickled inside the npz
    text = _error(path)
    assert "object" in text and "mask/op" in text


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _error(tmp_path / "nope.npz")


@pytest.mark.parametrize("content", [b"not a zip at all", b""])
def test_not_an_npz(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    assert "not an npz" in _error(path)


def test_plain_npy_is_not_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "mask.npy"
    np.save(path, np.zeros((2, 2), dtype=np.uint8))
    assert "not an npz" in _error(path)


def test_truncated_npz(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.npz", **_valid_arrays())
    path = tmp_path / "cut.npz"
    data = good.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    assert "truncated" in _error(path)


@pytest.mark.parametrize("offset", [60, 100, 140])
def test_corrupted_npz(tmp_path: Path, offset: int) -> None:
    data = bytearray(_write(tmp_path / "good.npz", **_valid_arrays()).read_bytes())
    data[offset : offset + 20] = bytes(20)
    path = tmp_path / "corrupt.npz"
    path.write_bytes(bytes(data))
    assert "unreadable npz" in _error(path)


def test_zip_member_that_is_not_npy(tmp_path: Path) -> None:
    path = _write(tmp_path / "extra.npz", **_valid_arrays())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("meta/readme.txt", "hello")
    assert "meta/readme.txt" in _error(path)


@pytest.mark.parametrize(("change", "key", "words"), [
    (lambda a: a.pop("format_version"), "format_version", "missing"),
    (lambda a: a.update(format_version=np.array(2)), "format_version", "unsupported"),
    (lambda a: a.pop("k_dim/op"), "k_dim/op", "without its k_dim"),
    (lambda a: a.update({"k_dim/other": np.array(8)}), "k_dim/other", "without a mask"),
    (lambda a: a.update({"k_dim/op": np.array([13])}), "k_dim/op", "integer scalar"),
    (lambda a: a.update({"k_dim/op": np.array(13.0)}), "k_dim/op", "integer scalar"),
    (lambda a: a.update({"mask/op": np.zeros((4, 13), dtype=bool)}), "mask/op", "uint8"),
    (lambda a: a.update({"mask/op": np.zeros(4, dtype=np.uint8)}), "mask/op", "uint8"),
    (lambda a: a.update({"mask/op": np.zeros((4, 3), dtype=np.uint8)}), "mask/op",
     "does not fit"),
    (lambda a: a.update({"mask/op": np.full((4, 2), 0xFF, dtype=np.uint8)}), "mask/op",
     "past K"),
    (lambda a: a.update({"weights": np.zeros(3)}), "weights", "unexpected entry"),
    (lambda a: a.update({"meta/model": np.zeros(3)}), "meta/model", "text"),
    (lambda a: (a.pop("mask/op"), a.pop("k_dim/op")), "mask/<op>", "no masks"),
])
def test_malformed_entries(tmp_path: Path, change, key: str, words: str) -> None:
    arrays = _valid_arrays()
    change(arrays)
    text = _error(_write(tmp_path / "t.npz", **arrays))
    assert key in text and words in text


def test_size_limit(tmp_path: Path) -> None:
    path = save_trace(tmp_path / "t.npz", {"op": np.ones((64, 1024), dtype=bool)})
    assert len(load_trace(path)) == 1
    assert "larger than" in _error(path, max_bytes=100)
    # highly compressible: small on disk, but unpacks past the limit
    assert "unpacks to more than" in _error(path, max_bytes=path.stat().st_size + 10)


@pytest.mark.parametrize(("masks", "meta", "words"), [
    ({}, None, "at least one mask"),
    ({"op": np.ones((2, 3), dtype=np.uint8)}, None, "boolean"),
    ({"op": np.ones(3, dtype=bool)}, None, "boolean"),
    ({"": np.ones((2, 3), dtype=bool)}, None, "non-empty"),
    ({"op": np.ones((2, 3), dtype=bool)}, {"model": 3}, "strings"),
])
def test_save_rejects_bad_input(tmp_path: Path, masks, meta, words: str) -> None:
    with pytest.raises(HwsimError, match=words):
        save_trace(tmp_path / "t.npz", masks, meta)
    assert not list(tmp_path.iterdir()), "nothing half-written is left behind"
