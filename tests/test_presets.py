"""The one preset resolver and the package data: every data folder is found through
importlib.resources, and every data file of the checkout is one the wheel ships."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hwsim import presets
from hwsim.errors import HwsimError

REPO = Path(__file__).resolve().parents[1]
# Package -> its folder in the checkout (pyproject's package-dir, and hwsim/data itself).
ROOTS = {"hwsim.data.models": REPO / "models", "hwsim.data.configs": REPO / "configs",
         "hwsim.data.reference": REPO / "hwsim" / "data" / "reference"}


def test_every_data_folder_resolves_into_the_checkout_of_this_editable_install() -> None:
    folders = {"chips": presets.preset_dir("chips"), "weights": presets.weights_dir(),
               "tflite": presets.tflite_dir(), "curves": presets.accuracy_curve_dir(),
               "claims": presets.claims_dir(), "gpu": presets.reference_dir("gpu"),
               "mcu": presets.reference_dir("mcu"), "tech": presets.preset_dir("tech"),
               "onnx": presets.onnx_dir(), "zigzag": presets.zigzag_reference_dir()}
    assert folders["chips"] == REPO / "configs" / "hardware"
    assert folders["weights"] == REPO / "models" / "weights"
    for name, folder in folders.items():
        assert folder.is_dir() and any(folder.iterdir()), name
    assert (folders["gpu"] / "SOURCES.md").is_file() and (folders["mcu"] / "SOURCES.md").is_file()


def test_studies_leave_out_claim_studies() -> None:
    names = {p.name for p in presets.list_presets("studies")}
    assert "systolic-size-vit" in names and not names & {p.stem for p in
                                                          presets.claims_dir().glob("*.yaml")}


def test_resolve_by_name_path_and_typo(tmp_path: Path) -> None:
    assert presets.resolve("chips", "systolic-32x32").name == "systolic-32x32.yaml"
    mine = tmp_path / "mine.yaml"
    mine.write_text("{}")
    assert presets.resolve("chips", str(mine)) == mine
    with pytest.raises(HwsimError, match="did you mean 'systolic-32x32'"):
        presets.resolve("chips", "systolic-32x3")


def _shipped(patterns: dict[str, list[str]]) -> set[Path]:
    out: set[Path] = set()
    for package, globs in patterns.items():
        root_pkg = next(p for p in ROOTS if package == p or package.startswith(p + "."))
        folder = ROOTS[root_pkg].joinpath(*package[len(root_pkg):].split(".")[1:])
        out |= {f for g in globs for f in folder.glob(g) if f.is_file()}
    return out


def test_the_wheel_ships_every_data_file() -> None:
    doc = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = doc["tool"]["setuptools"]["package-data"]
    data = {f for root in ROOTS.values() for f in root.rglob("*") if f.is_file()
            and f.suffix != ".py" and "__pycache__" not in f.parts}
    missing = sorted(str(f.relative_to(REPO)) for f in data - _shipped(patterns))
    assert not missing, f"not in pyproject's package-data, so not in the wheel: {missing}"


# Every reference folder holding CSVs (gpu, mcu, accelerator/eyeriss, accelerator/zigzag),
# found, not listed, so a new folder cannot skip its SOURCES table.
REFERENCE_KINDS = sorted({p.parent.relative_to(ROOTS["hwsim.data.reference"]).as_posix()
                          for p in ROOTS["hwsim.data.reference"].rglob("*.csv")})


@pytest.mark.parametrize("kind", REFERENCE_KINDS)
def test_every_reference_file_says_whether_it_is_fitted_or_held_out(kind: str) -> None:
    folder = presets.reference_dir(kind)  # type: ignore[arg-type]
    text = (folder / "SOURCES.md").read_text(encoding="utf-8")
    section = text.split("## Fitted or held out", 1)[1].split("\n## ", 1)[0]
    for csv in sorted(folder.glob("*.csv")):
        row = next((line for line in section.splitlines() if f"`{csv.name}`" in line), "")
        assert "fitted" in row.lower() or "held out" in row.lower(), f"{csv.name}: {row!r}"


def test_preset_names_follow_files_added_removed_and_nested(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The names a membership test sees (is_system) are re-listed when a folder's entries
    change, nested folders included, without reading any file."""
    real = presets.preset_dir
    monkeypatch.setattr(presets, "preset_dir",
                        lambda kind: tmp_path if kind == "systems" else real(kind))
    (tmp_path / "a.yaml").write_text("kind: system\n")
    assert presets.preset_names("systems") == {"a"}
    nested = tmp_path / "more"
    nested.mkdir()
    (nested / "b.yaml").write_text("kind: system\n")
    assert presets.preset_names("systems") == {"a", "b"}
    (tmp_path / "a.yaml").unlink()
    assert presets.preset_names("systems") == {"b"}
