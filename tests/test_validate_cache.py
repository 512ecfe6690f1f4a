"""The user cache of `hwsim validate gpu`'s slow sections (hwsim.validation.result_cache): hits,
misses on a changed input digest, --no-cache, unwritable folders, and identical printed figures
with and without the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hwsim.validation import result_cache as rc


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(rc.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _counting(value: Any) -> tuple[list[int], Any]:
    calls: list[int] = []

    def compute() -> Any:
        calls.append(1)
        return value
    return calls, compute


def test_second_call_reads_the_entry(folder: Path) -> None:
    calls, compute = _counting({"a": (1, 0.1 + 0.2), "b": None})
    first = rc.cached("demo", compute)
    second = rc.cached("demo", compute)
    assert calls == [1]
    # Computed and read results are the same JSON round trip (tuples as lists, floats exact).
    assert first == second == {"a": [1, 0.1 + 0.2], "b": None}
    assert [p.name for p in folder.iterdir()] == [f"demo-{rc.inputs_digest()}.json"]


def test_a_changed_input_digest_recomputes_and_prunes(folder: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls, compute = _counting([1.5])
    rc.cached("demo", compute)
    monkeypatch.setattr(rc, "inputs_digest", lambda: "another")
    assert rc.cached("demo", compute) == [1.5]
    assert calls == [1, 1]
    assert [p.name for p in folder.iterdir()] == ["demo-another.json"]


def test_no_cache_neither_reads_nor_writes(folder: Path) -> None:
    calls, compute = _counting({"x": 2})
    rc.cached("demo", compute)
    assert rc.cached("demo", compute, use_cache=False) == {"x": 2}
    assert calls == [1, 1]
    (folder / f"demo-{rc.inputs_digest()}.json").unlink()
    rc.cached("demo", compute, use_cache=False)
    assert not any(folder.iterdir())


def test_unwritable_or_corrupt_cache_still_answers(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(rc.CACHE_ENV, str(blocker / "cache"))  # mkdir fails: OSError
    calls, compute = _counting([3])
    assert rc.cached("demo", compute) == [3]
    monkeypatch.setenv(rc.CACHE_ENV, str(tmp_path / "ok"))
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / f"demo-{rc.inputs_digest()}.json").write_text("{truncated")
    assert rc.cached("demo", compute) == [3]
    assert calls == [1, 1]


def test_digest_covers_code_presets_and_data() -> None:
    roots = rc._input_roots()
    names = {p.name for root in roots for p in rc._input_files(root)}
    assert {"fit.py", "a100-sxm-80gb.yaml", "gpu.yaml", "neusight_norm_new_presets.csv"} <= names
    assert len(rc.inputs_digest()) == 20


def test_default_folder_is_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(rc.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    if rc.sys.platform.startswith("linux"):
        assert rc.cache_dir() == Path("/somewhere/hwsim/validate-gpu")
    assert "site-packages" not in str(rc.cache_dir())


@pytest.mark.heavy
def test_validate_gpu_prints_the_same_from_the_cache(run_cli: Any, folder: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, computed, _ = run_cli("validate", "gpu", "--json")
    assert code == 0
    assert len(list(folder.glob("*.json"))) == 7

    def boom() -> None:
        raise AssertionError("recomputed despite a cache entry")
    import hwsim.report.validate_gpu as vg
    import hwsim.validation.gpu_heldout as gh
    import hwsim.validation.gpu_kernel_power as gk
    import hwsim.validation.gpu_logo as gl
    import hwsim.validation.gpu_power_heldout as gp
    import hwsim.validation.source_agreement as sa
    import hwsim.validation.square_mm as sq
    for module, name in ((gh, "heldout_report"), (gl, "logo_report"),
                         (gp, "power_report"), (gk, "kernel_power_report"),
                         (sq, "square_mm_report"), (sa, "source_agreement_report"),
                         (vg, "validation_rows")):
        monkeypatch.setattr(module, name, boom)
    code, warm, _ = run_cli("validate", "gpu", "--json")
    assert code == 0 and warm == computed
    assert json.loads(warm)["heldout"]["summary"]


def test_no_cache_is_for_gpu_only(run_cli: Any) -> None:
    code, _, err = run_cli("validate", "mcu", "--no-cache")
    assert code == 2 and "--no-cache" in err
