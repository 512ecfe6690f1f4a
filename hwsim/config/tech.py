"""Schemas of the technology tables in ``configs/tech/*.yaml``.

A tech file is either a ``kind: base`` table (energy per action, area per unit, leakage, all at
one node, each number with its source) or a ``kind: scaled`` file that names a base table and the
published scaling factors to another node. Every numeric entry is a small object: the value with
its unit in the field name (``energy_pj``, ``area_um2``, ``pj_per_bit``...), a non-empty
``source`` and, where the number was computed rather than copied, a ``derivation``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from hwsim.config.base import StrictModel
from hwsim.units import TechDtype as Dtype


class Sourced(StrictModel):
    """Provenance carried by every number in a tech table."""

    source: str = Field(description="paper/datasheet (authors, venue, year, table) for the value")
    derivation: str | None = Field(
        default=None, description="how the value was computed, where it is not a copied figure"
    )

    @field_validator("source")
    @classmethod
    def _source_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("source must name where the number comes from")
        return value


class EnergyPj(Sourced):
    energy_pj: float = Field(gt=0, description="energy of one action, picojoules")


class AreaUm2(Sourced):
    area_um2: float = Field(gt=0, description="area, square micrometres")


class PjPerBit(Sourced):
    pj_per_bit: float = Field(gt=0, description="energy per bit moved, picojoules")


class Ratio(Sourced):
    ratio: float = Field(gt=0, description="dimensionless ratio")


class Factor(Sourced):
    factor: float = Field(gt=0, description="multiplier applied to the base table's value")


class SizeBytes(Sourced):
    size_bytes: int = Field(gt=0, description="capacity, bytes")


class SupplyV(Sourced):
    vdd_v: float = Field(gt=0, description="supply voltage the numbers hold at, volts")


class WattsPerMm2(Sourced):
    w_per_mm2: float = Field(ge=0, description="leakage power per mm^2 of logic, watts")


class WattsPerKib(Sourced):
    w_per_kib: float = Field(ge=0, description="leakage power per KiB of SRAM, watts")


class SramPoint(Sourced):
    size_bytes: int = Field(gt=0, description="SRAM capacity, bytes")
    energy_pj: float = Field(gt=0, description="energy of one 64-bit read, picojoules")


class PerDtypeEnergy(StrictModel):
    int8: EnergyPj
    int16: EnergyPj
    int32: EnergyPj
    fp16: EnergyPj
    bf16: EnergyPj
    fp32: EnergyPj


class PerDtypeArea(StrictModel):
    int8: AreaUm2
    int16: AreaUm2
    int32: AreaUm2
    fp16: AreaUm2
    bf16: AreaUm2
    fp32: AreaUm2


class Accumulators(StrictModel):
    """Accumulator dtype of a MAC, per operand dtype."""

    int8: Dtype
    int16: Dtype
    int32: Dtype
    fp16: Dtype
    bf16: Dtype
    fp32: Dtype


class SramTable(StrictModel):
    read_64b: list[SramPoint] = Field(min_length=2, description="64-bit read energy vs size")
    fit: str = Field(min_length=1, description="how energies between/outside points are fitted")
    min_size: SizeBytes
    write_to_read: Ratio
    area_per_kib: AreaUm2
    leakage_per_kib: WattsPerKib

    @model_validator(mode="after")
    def _points_increase(self) -> SramTable:
        sizes = [p.size_bytes for p in self.read_64b]
        energies = [p.energy_pj for p in self.read_64b]
        if any(b <= a for a, b in pairwise(sizes)):
            raise ValueError("sram.read_64b sizes must be strictly increasing")
        if any(b <= a for a, b in pairwise(energies)):
            raise ValueError("sram.read_64b energies must increase with size (monotone fit)")
        return self


class Gating(StrictModel):
    """Zero-gating energies from one source; only their ratios are used."""

    mac_random: EnergyPj
    mac_gated: EnergyPj
    read: EnergyPj
    read_gated: EnergyPj
    metadata_read: EnergyPj


class Offchip(StrictModel):
    ddr3: PjPerBit
    ddr4: PjPerBit
    lpddr4: PjPerBit
    lpddr5: PjPerBit
    hbm2: PjPerBit
    hbm2e: PjPerBit
    hbm3: PjPerBit
    hbm3e: PjPerBit
    gddr6: PjPerBit
    gddr6x: PjPerBit
    flash: PjPerBit


class _TechHeader(StrictModel):
    schema_version: Literal[1]
    name: str = Field(min_length=1)
    node_nm: float = Field(gt=0, description="technology node, nanometres")
    description: str = Field(min_length=1, description="one line shown by `hwsim list tech`")
    supply: SupplyV


class BaseTechDoc(_TechHeader):
    """A full table at one node."""

    kind: Literal["base"]
    add: PerDtypeEnergy
    mult: PerDtypeEnergy
    accumulator: Accumulators
    rf_access: EnergyPj = Field(description="register-file / PE-local access, per byte")
    sram: SramTable
    gating: Gating
    offchip: Offchip
    area_add: PerDtypeArea
    area_mult: PerDtypeArea
    logic_leakage: WattsPerMm2


class ScaledTechDoc(_TechHeader):
    """Another node: a base table times published scaling factors."""

    kind: Literal["scaled"]
    base: str = Field(min_length=1, description="base table: a name in configs/tech or a path")
    scaling_model: str = Field(min_length=1, description="the published model the factors use")
    dynamic_energy: Factor
    logic_area: Factor
    sram_area: Factor
    static_power: Factor = Field(description="leakage power per component (per KiB, per function)")
    offchip: str = Field(min_length=1, description="why off-chip energies are not scaled")


TechDoc = Annotated[BaseTechDoc | ScaledTechDoc, Field(discriminator="kind")]
TECH_KINDS: dict[str, type[BaseTechDoc] | type[ScaledTechDoc]] = {
    "base": BaseTechDoc,
    "scaled": ScaledTechDoc,
}
