"""Alpha-beta collectives against hand-computed values, and the ParallelSpec parser."""

from __future__ import annotations

import pytest

from hwsim.errors import HwsimError
from hwsim.parallel import ParallelSpec, collective_time_s, load_system, parse_parallel
from hwsim.parallel.collectives import bus_factor, link_bytes, steps
from hwsim.parallel.spec import resolve_devices


def test_ring_all_reduce_by_hand() -> None:
    # 8 ranks, 1 MB, alpha 2 us, busbw 100 GB/s: 14 steps x 2 us + 2*7/8 * 1e6 / 1e11 s
    t = collective_time_s("all_reduce", 1e6, 8, alpha_s=2e-6, bus_bw_bytes_per_s=100e9)
    assert t == pytest.approx(14 * 2e-6 + 1.75e6 / 100e9)


def test_tree_all_reduce_by_hand() -> None:
    # tree: 2*ceil(log2 8) = 6 steps
    t = collective_time_s("all_reduce", 1e6, 8, alpha_s=3e-6, bus_bw_bytes_per_s=100e9,
                          algorithm="tree")
    assert t == pytest.approx(6 * 3e-6 + 1.75e6 / 100e9)
    assert steps("all_reduce", "tree", 6) == 6  # ceil(log2 6) = 3


@pytest.mark.parametrize("kind", ["all_gather", "reduce_scatter", "all_to_all"])
def test_one_pass_collectives_by_hand(kind: str) -> None:
    t = collective_time_s(kind, 4e6, 4, alpha_s=1e-6, bus_bw_bytes_per_s=50e9)
    assert t == pytest.approx(3 * 1e-6 + 0.75 * 4e6 / 50e9)
    assert link_bytes(kind, 4e6, 4) == pytest.approx(4 * 0.75 * 4e6)


def test_send_recv_and_single_rank() -> None:
    assert collective_time_s("send_recv", 1e6, 2, alpha_s=5e-6,
                             bus_bw_bytes_per_s=1e10) == pytest.approx(5e-6 + 1e-4)
    assert collective_time_s("all_reduce", 1e6, 1, alpha_s=5e-6, bus_bw_bytes_per_s=1e10) == 0
    assert bus_factor("all_reduce", 2) == 1.0


def test_bad_collectives() -> None:
    with pytest.raises(HwsimError, match="unknown collective"):
        collective_time_s("broadcastish", 1.0, 2, alpha_s=1e-6, bus_bw_bytes_per_s=1e9)
    with pytest.raises(HwsimError, match="algorithm"):
        collective_time_s("all_reduce", 1.0, 2, alpha_s=1e-6, bus_bw_bytes_per_s=1e9,
                          algorithm="butterfly")


def test_parse_parallel() -> None:
    assert parse_parallel({"tp": 8}) == ParallelSpec(tp=8)
    assert parse_parallel(None).devices == 1
    assert parse_parallel({"tp": 2, "pp": 2, "ep": 2}).devices == 8
    spec = ParallelSpec(tp=4)
    assert parse_parallel(spec) is spec
    for bad, name in (({"tp": 0}, "tp"), ({"pp": 1.5}, "pp"), ({"ep": True}, "ep"),
                      ({"tq": 2}, "parallel"), ("tp=2", "parallel")):
        with pytest.raises(HwsimError) as e:
            parse_parallel(bad)  # type: ignore[arg-type]
        assert e.value.source == name


def test_devices_rule() -> None:
    assert resolve_devices(ParallelSpec(), 4) == ParallelSpec(tp=4)
    assert resolve_devices(ParallelSpec(tp=2, pp=2), 4) == ParallelSpec(tp=2, pp=2)
    with pytest.raises(HwsimError) as e:
        resolve_devices(ParallelSpec(tp=2, pp=2), 8)
    assert e.value.source == "devices"


def test_system_presets_validate() -> None:
    for name, chip, n in (("dgx-h100", "h100-sxm", 8), ("dgx-a100", "a100-sxm-80gb", 8),
                          ("4x-rtx-4090-pcie", "rtx-4090", 4)):
        s = load_system(name)
        assert (s.chip, s.devices) == (chip, n)
        assert "ring" in s.interconnect.algorithms
        assert s.sources["interconnect.energy_j_per_byte"]
