"""Technology tables as an immutable domain object: energy per action, area, leakage in SI units.

``load_tech("7nm")`` reads ``configs/tech/7nm.yaml``; a scaled file is resolved against its base
table by multiplying with the file's factors. Energies come back in joules, areas in mm^2, power
in watts. Off-chip energies are never scaled: they belong to the memory device, not the node.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hwsim.config.loading import read_yaml_file, validate
from hwsim.config.tech import BaseTechDoc, ScaledTechDoc, TechDoc
from hwsim.errors import HwsimError, Problem, input_error
from hwsim.presets import preset_dir
from hwsim.units import BITS_PER_BYTE, OFFCHIP_KINDS, PJ, TECH_DTYPES, UM2_PER_MM2

TECH_DIR = preset_dir("tech")
BYTES_PER_64B_READ = 8
BYTES_PER_KIB = 1024

SizeOut = float | NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Tech:
    """One technology node. Tables are read-only mappings; numbers are already scaled."""

    name: str
    node_nm: float
    description: str
    add_j: Mapping[str, float]  # per dtype, joules per add
    mult_j: Mapping[str, float]  # per dtype, joules per multiply
    accumulator: Mapping[str, str]  # operand dtype -> accumulator dtype
    rf_j_per_byte: float
    sram_sizes_bytes: tuple[float, ...]  # fit points, increasing
    sram_read_j_per_64b: tuple[float, ...]  # energy of a 64-bit read at each fit point
    sram_min_size_bytes: float
    sram_write_to_read: float
    gated_mac_ratio: float  # gated MAC / random MAC
    gated_read_ratio: float  # gated read / read
    metadata_read_ratio: float  # metadata read / data read
    offchip_j_per_bit: Mapping[str, float]
    add_area_mm2: Mapping[str, float]
    mult_area_mm2: Mapping[str, float]
    sram_area_mm2_per_kib: float
    logic_leak_w_per_mm2: float
    sram_leak_w_per_kib: float
    provenance: Mapping[str, str]

    # --- compute -------------------------------------------------------------------------
    def add_energy_j(self, dtype: str) -> float:
        """Energy of one add in ``dtype``, joules."""
        return self.add_j[self._dtype(dtype)]

    def mult_energy_j(self, dtype: str) -> float:
        """Energy of one multiply in ``dtype``, joules."""
        return self.mult_j[self._dtype(dtype)]

    def mac_energy_j(self, dtype: str) -> float:
        """Energy of one MAC, joules: multiply in ``dtype`` + add in its accumulator dtype."""
        d = self._dtype(dtype)
        return self.mult_j[d] + self.add_j[self.accumulator[d]]

    def gated_mac_energy_j(self, dtype: str) -> float:
        """Energy of a zero-gated MAC, joules (Sparseloop gated/random ratio x MAC energy)."""
        return self.mac_energy_j(dtype) * self.gated_mac_ratio

    def mac_area_mm2(self, dtype: str) -> float:
        """Area of one MAC unit, mm^2: multiplier in ``dtype`` + accumulator adder."""
        d = self._dtype(dtype)
        return self.mult_area_mm2[d] + self.add_area_mm2[self.accumulator[d]]

    # --- memory --------------------------------------------------------------------------
    def sram_read_energy_j_per_byte(self, size_bytes: ArrayLike) -> SizeOut:
        """Read energy per byte of an SRAM of ``size_bytes`` (scalar or array), joules."""
        s = self._sizes(size_bytes)
        logs, loge = np.log(self.sram_sizes_bytes), np.log(self.sram_read_j_per_64b)
        x = np.log(np.maximum(s, self.sram_min_size_bytes))
        y = np.interp(x, logs, loge)
        # np.interp holds the end values; continue the end segments' power laws instead.
        lo, hi = x < logs[0], x > logs[-1]
        y = np.where(lo, loge[0] + _slope(logs, loge, 0) * (x - logs[0]), y)
        y = np.where(hi, loge[-1] + _slope(logs, loge, -1) * (x - logs[-1]), y)
        return _out(np.exp(y) / BYTES_PER_64B_READ, size_bytes)

    def sram_write_energy_j_per_byte(self, size_bytes: ArrayLike) -> SizeOut:
        """Write energy per byte of an SRAM of ``size_bytes``, joules."""
        return self.sram_read_energy_j_per_byte(size_bytes) * self.sram_write_to_read

    def gated_read_energy_j_per_byte(self, size_bytes: ArrayLike) -> SizeOut:
        """Energy per byte of a zero-gated SRAM read (Sparseloop ratio), joules."""
        return self.sram_read_energy_j_per_byte(size_bytes) * self.gated_read_ratio

    def metadata_read_energy_j_per_byte(self, size_bytes: ArrayLike) -> SizeOut:
        """Energy per byte of sparse-format metadata read from an SRAM (Sparseloop ratio), J."""
        return self.sram_read_energy_j_per_byte(size_bytes) * self.metadata_read_ratio

    def rf_energy_j_per_byte(self) -> float:
        """Register-file / PE-local access energy per byte, joules."""
        return self.rf_j_per_byte

    def offchip_energy_j_per_byte(self, kind: str) -> float:
        """Energy per byte moved to/from off-chip memory ``kind`` (DRAM, HBM, flash), joules."""
        if kind not in self.offchip_j_per_bit:
            raise _unknown(self.name, "off-chip memory kind", kind, OFFCHIP_KINDS)
        return self.offchip_j_per_bit[kind] * BITS_PER_BYTE

    def sram_area_mm2(self, size_bytes: ArrayLike) -> SizeOut:
        """Area of SRAM holding ``size_bytes``, mm^2 (linear in capacity)."""
        s = self._sizes(size_bytes, allow_zero=True)
        return _out(s / BYTES_PER_KIB * self.sram_area_mm2_per_kib, size_bytes)

    def static_power_w(self, logic_area_mm2: ArrayLike, sram_bytes: ArrayLike) -> SizeOut:
        """Leakage power, watts, of ``logic_area_mm2`` of logic (area at this node, e.g. from
        ``mac_area_mm2``) plus ``sram_bytes`` of SRAM; scalars or broadcastable arrays."""
        area = np.asarray(logic_area_mm2, dtype=np.float64)
        if np.any(area < 0) or not np.all(np.isfinite(area)):
            raise input_error(self.name, "logic area must be finite and >= 0 mm^2",
                              given=logic_area_mm2)
        kib = self._sizes(sram_bytes, allow_zero=True) / BYTES_PER_KIB
        power = area * self.logic_leak_w_per_mm2 + kib * self.sram_leak_w_per_kib
        return power if power.ndim else float(power)

    def sources(self) -> Mapping[str, str]:
        """Provenance of every number: dotted field -> source (and scaling) text."""
        return self.provenance

    # --- helpers -------------------------------------------------------------------------
    def _dtype(self, dtype: str) -> str:
        if dtype not in self.mult_j:
            raise _unknown(self.name, "dtype", dtype, TECH_DTYPES)
        return dtype

    def _sizes(self, size_bytes: ArrayLike, allow_zero: bool = False) -> NDArray[np.float64]:
        s = np.asarray(size_bytes, dtype=np.float64)
        bad = ~np.isfinite(s) | (s < 0 if allow_zero else s <= 0)
        if np.any(bad):
            what = ">= 0" if allow_zero else "> 0"
            raise input_error(self.name, f"memory size must be finite and {what} bytes",
                              given=size_bytes)
        return s


def _slope(logs: NDArray[np.float64], loge: NDArray[np.float64], end: int) -> float:
    """Log-log slope of the first (end=0) or last (end=-1) fit segment."""
    i, j = (0, 1) if end == 0 else (-2, -1)
    return float((loge[j] - loge[i]) / (logs[j] - logs[i]))


def _out(values: NDArray[np.float64], like: ArrayLike) -> SizeOut:
    """A float for scalar input, an array of the input's shape otherwise."""
    return values if np.ndim(like) else float(values)


def _unknown(source: str, what: str, given: str, valid: tuple[str, ...]) -> HwsimError:
    close = difflib.get_close_matches(str(given), valid, n=3, cutoff=0.5)
    hint = ("did you mean " + " or ".join(repr(c) for c in close) + "? " if close else "")
    return input_error(source, f"unknown {what}", given=given,
                       hint=hint + "valid: " + ", ".join(valid))


# --- building from documents ---------------------------------------------------------------
def _ro(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


def _from_base(doc: BaseTechDoc) -> Tech:
    dtypes = list(type(doc.add).model_fields)
    src: dict[str, str] = {"supply": doc.supply.source, "rf_access": doc.rf_access.source}
    for table in ("add", "mult", "area_add", "area_mult"):
        for d in dtypes:
            src[f"{table}.{d}"] = getattr(getattr(doc, table), d).source
    for p in doc.sram.read_64b:
        src[f"sram.read_64b[{p.size_bytes}]"] = p.source
    for key in ("min_size", "write_to_read", "area_per_kib", "leakage_per_kib"):
        src[f"sram.{key}"] = getattr(doc.sram, key).source
    for table in ("gating", "offchip"):
        for key, entry in getattr(doc, table):
            src[f"{table}.{key}"] = entry.source
    src["logic_leakage"] = doc.logic_leakage.source
    g = doc.gating
    return Tech(
        name=doc.name, node_nm=doc.node_nm, description=doc.description,
        add_j=_ro({d: getattr(doc.add, d).energy_pj * PJ for d in dtypes}),
        mult_j=_ro({d: getattr(doc.mult, d).energy_pj * PJ for d in dtypes}),
        accumulator=_ro(doc.accumulator.model_dump()),
        rf_j_per_byte=doc.rf_access.energy_pj * PJ,
        sram_sizes_bytes=tuple(float(p.size_bytes) for p in doc.sram.read_64b),
        sram_read_j_per_64b=tuple(p.energy_pj * PJ for p in doc.sram.read_64b),
        sram_min_size_bytes=float(doc.sram.min_size.size_bytes),
        sram_write_to_read=doc.sram.write_to_read.ratio,
        gated_mac_ratio=g.mac_gated.energy_pj / g.mac_random.energy_pj,
        gated_read_ratio=g.read_gated.energy_pj / g.read.energy_pj,
        metadata_read_ratio=g.metadata_read.energy_pj / g.read.energy_pj,
        offchip_j_per_bit=_ro({k: e.pj_per_bit * PJ for k, e in doc.offchip}),
        add_area_mm2=_ro({d: getattr(doc.area_add, d).area_um2 / UM2_PER_MM2 for d in dtypes}),
        mult_area_mm2=_ro({d: getattr(doc.area_mult, d).area_um2 / UM2_PER_MM2 for d in dtypes}),
        sram_area_mm2_per_kib=doc.sram.area_per_kib.area_um2 / UM2_PER_MM2,
        logic_leak_w_per_mm2=doc.logic_leakage.w_per_mm2,
        sram_leak_w_per_kib=doc.sram.leakage_per_kib.w_per_kib,
        provenance=_ro(src),
    )


def _scaled(base: Tech, doc: ScaledTechDoc) -> Tech:
    e, la = doc.dynamic_energy.factor, doc.logic_area.factor
    sa, st = doc.sram_area.factor, doc.static_power.factor
    tags = {"energy": f"dynamic_energy x{e:g}", "logic": f"logic_area x{la:g}",
            "sram_area": f"sram_area x{sa:g}", "static": f"static_power x{st:g}"}
    kinds = {"add": "energy", "mult": "energy", "rf_access": "energy", "sram.read_64b": "energy",
             "area_add": "logic", "area_mult": "logic", "sram.area_per_kib": "sram_area",
             "sram.leakage_per_kib": "static", "logic_leakage": "static"}
    src: dict[str, str] = {}
    for key, text in base.provenance.items():
        tag = next((tags[k] for p, k in kinds.items() if key.startswith(p)), None)
        src[key] = f"{text}; scaled to {doc.name} by {tag}" if tag else text
    src["supply"] = doc.supply.source
    for key in ("dynamic_energy", "logic_area", "sram_area", "static_power"):
        src[f"scaling.{key}"] = getattr(doc, key).source
    src["scaling.model"] = doc.scaling_model
    src["scaling.offchip"] = doc.offchip
    return Tech(
        name=doc.name, node_nm=doc.node_nm, description=doc.description,
        add_j=_ro({k: v * e for k, v in base.add_j.items()}),
        mult_j=_ro({k: v * e for k, v in base.mult_j.items()}),
        accumulator=base.accumulator,
        rf_j_per_byte=base.rf_j_per_byte * e,
        sram_sizes_bytes=base.sram_sizes_bytes,
        sram_read_j_per_64b=tuple(v * e for v in base.sram_read_j_per_64b),
        sram_min_size_bytes=base.sram_min_size_bytes,
        sram_write_to_read=base.sram_write_to_read,
        gated_mac_ratio=base.gated_mac_ratio, gated_read_ratio=base.gated_read_ratio,
        metadata_read_ratio=base.metadata_read_ratio,
        offchip_j_per_bit=base.offchip_j_per_bit,  # a device property: not scaled
        add_area_mm2=_ro({k: v * la for k, v in base.add_area_mm2.items()}),
        mult_area_mm2=_ro({k: v * la for k, v in base.mult_area_mm2.items()}),
        sram_area_mm2_per_kib=base.sram_area_mm2_per_kib * sa,
        # the factor is per component; per mm^2 the component shrank by the area factor
        logic_leak_w_per_mm2=base.logic_leak_w_per_mm2 * st / la,
        sram_leak_w_per_kib=base.sram_leak_w_per_kib * st,
        provenance=_ro(src),
    )


# --- loading -------------------------------------------------------------------------------
def available_tech() -> list[str]:
    """Names of the tech tables in ``configs/tech``."""
    return sorted(p.stem for p in TECH_DIR.glob("*.yaml"))


def _resolve(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    """A path as given (relative to ``relative_to`` if set), or a node name looked up in
    ``relative_to`` and then in ``configs/tech``."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text:
        p = Path(text)
        return p if p.is_absolute() or relative_to is None else relative_to / p
    folders = [f for f in (relative_to, TECH_DIR) if f is not None]
    for folder in folders:
        if (folder / f"{text}.yaml").is_file():
            return folder / f"{text}.yaml"
    names = sorted({q.stem for f in folders for q in f.glob("*.yaml")})
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = ("did you mean " + " or ".join(repr(c) for c in close) + "? " if close else "")
    raise input_error(text, "unknown technology node", given=text,
                      hint=hint + "available: " + ", ".join(names))


@functools.lru_cache(maxsize=256)
def _real(path: Path) -> Path:
    """``path`` resolved (symlinks and ``..``), remembered: resolving costs a system call per
    path component, and a simulation loads its tables several times (the file's mtime is still
    read on every load, so an edited table reloads)."""
    return path.resolve()


def _doc(path: Path) -> BaseTechDoc | ScaledTechDoc:
    p = _real(path)
    mtime = p.stat().st_mtime_ns if p.is_file() else -1
    return _doc_cached(str(p), mtime)


@functools.lru_cache(maxsize=64)
def _doc_cached(path: str, mtime_ns: int) -> BaseTechDoc | ScaledTechDoc:
    return validate(read_yaml_file(path), TechDoc, path)


@functools.lru_cache(maxsize=64)
def _build(path: str, mtime_ns: int, base_path: str, base_mtime_ns: int) -> Tech:
    doc = _doc_cached(path, mtime_ns)
    if isinstance(doc, BaseTechDoc):
        return _from_base(doc)
    base_doc = _doc_cached(base_path, base_mtime_ns)
    if not isinstance(base_doc, BaseTechDoc):
        raise input_error(path, "the base of a scaled table must be a 'kind: base' table",
                          field="base", given=doc.base)
    return _scaled(_from_base(base_doc), doc)


def load_tech(name_or_path: str | Path) -> Tech:
    """Load a tech table by node name (``"45nm"``, ``"7nm"``) or YAML path; cached per mtime."""
    path = _real(_resolve(name_or_path))
    doc = _doc(path)
    base_path, base_mtime = "", 0
    if isinstance(doc, ScaledTechDoc):
        try:
            bp = _real(_resolve(doc.base, relative_to=path.parent))
        except HwsimError as exc:
            problems = [Problem("base", p.message, p.given, p.hint) for p in exc.problems]
            raise HwsimError(str(path), problems, summary="unknown base table") from None
        _doc(bp)  # validate the base now, with its own file named in any error
        base_path, base_mtime = str(bp), bp.stat().st_mtime_ns
    return _build(str(path), path.stat().st_mtime_ns, base_path, base_mtime)


def list_tech() -> list[tuple[str, str]]:
    """(name, description) of every table in ``configs/tech``, largest node first."""
    docs = [_doc(TECH_DIR / f"{n}.yaml") for n in available_tech()]
    docs.sort(key=lambda d: (-d.node_nm, d.name))
    return [(d.name, d.description) for d in docs]
