"""System schema: ``devices`` copies of a chip preset joined by an interconnect.

A system preset (``configs/hardware/systems/*.yaml``) is what tensor/pipeline/expert parallel
runs price their collectives on (:mod:`hwsim.parallel.collectives`). Every number is cited in
``sources``; fitted constants name the reference rows they were fitted on
(hwsim/data/reference/interconnect/).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hwsim.config.base import StrictModel

Positive = Annotated[float, Field(gt=0)]
Algorithm = Literal["ring", "tree"]


class AlgorithmCost(StrictModel):
    """Alpha-beta constants of one collective algorithm on this interconnect."""

    alpha_s: Positive = Field(description="latency per algorithm step, s (ring all-reduce "
                              "has 2(n-1) steps, tree 2*ceil(log2 n))")
    bus_bw_bytes_per_s: Positive = Field(description="asymptotic bus bandwidth, bytes/s "
                                         "(nccl-tests busbw at large sizes)")


class Interconnect(StrictModel):
    kind: Literal["nvlink", "nvswitch", "pcie", "infiniband", "ethernet"] = Field(
        description="link technology", json_schema_extra={
            "informational": "a label for tables; the costs come from algorithms and "
            "energy_j_per_byte"})
    link_bw_bytes_per_s: Positive = Field(
        description="datasheet line rate per device and direction, bytes/s",
        json_schema_extra={"informational": "shown next to the fitted bus bandwidth for "
                           "comparison; the costs use algorithms.*.bus_bw_bytes_per_s"})
    p2p: bool = Field(True, description="devices read and write each other's memory directly "
                      "(false: traffic is staged through host memory, as on GeForce cards)",
                      json_schema_extra={"informational": "documents why the fitted alpha and "
                                         "bus bandwidth are what they are"})
    algorithms: dict[Algorithm, AlgorithmCost] = Field(
        description="alpha-beta constants per algorithm")
    default_algorithm: Algorithm = Field("ring", description="algorithm all-reduce uses "
                                         "(other collectives always use the ring)")
    energy_j_per_byte: float = Field(ge=0, description="energy per byte that crosses a link "
                                     "(both ends' SerDes and the switch), J")

    @model_validator(mode="after")
    def _default_known(self) -> Interconnect:
        if "ring" not in self.algorithms:
            raise ValueError("algorithms must give 'ring' (every collective can use it)")
        if self.default_algorithm not in self.algorithms:
            raise ValueError(f"default_algorithm {self.default_algorithm!r} is not in "
                             f"algorithms ({', '.join(self.algorithms)})")
        return self


class SystemConfig(StrictModel):
    schema_version: Literal[1] = Field(1, description="config format version")
    kind: Literal["system"] = "system"
    name: str = Field(min_length=1, description="preset name")
    description: str = Field("", description="one line shown by `hwsim list systems`")
    sources: dict[str, str] = Field(default_factory=dict,
                                    description="field path -> citation for its value")
    chip: str = Field(min_length=1, description="chip preset (or YAML path) of every device")
    devices: int = Field(ge=1, le=4096, description="devices in the system: the most a "
                         "parallel run on it may use")
    interconnect: Interconnect
