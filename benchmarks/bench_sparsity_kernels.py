"""Throughput of the numba sparsity kernels against this machine's memory bandwidth, on one core.

Bandwidth: the best of several large numpy copies (bytes read + bytes written per second). Each
kernel's throughput is mask bytes read per second, best of several runs after JIT warm-up, on
a realistic mask (ReLU-like, 5 % active) of 4096 tokens x 16384 K (8 MiB packed, which fits the
last-level cache of many servers) and on the same mask tiled to --dram-tokens tokens (by default
128 MiB, streamed from DRAM). It prints each as a ratio of the bandwidth (target >= 0.5 on the
fast paths: tile_k a multiple of 8, power-of-two blocks) and as a speed-up over the pure-numpy
reference in hwsim.sparsity.reference. Other block sizes take a documented slower path, shown
for information. Run it on an idle machine: the ratio is only as good as both measurements.

    .venv/bin/python benchmarks/bench_sparsity_kernels.py [--tokens 4096] [--k-dim 16384]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: the kernels are single-threaded

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from hwsim.kernels import sparsity_kernels as kern  # noqa: E402
from hwsim.sparsity import reference as ref  # noqa: E402
from hwsim.sparsity.realise import moe_routes, relu_masks  # noqa: E402

TARGET_RATIO = 0.5


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls, seconds."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def memory_bandwidth_bytes_per_s(size_bytes: int = 512 * 2**20, repeats: int = 6) -> float:
    """Bytes read plus bytes written per second by a large numpy copy (best of ``repeats``)."""
    src = np.ones(size_bytes, dtype=np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    return 2 * size_bytes / best_seconds(lambda: np.copyto(dst, src), repeats)


GENERAL_PATH = "lane_work lanes=32 block=96"  # not a power of two: blocks tested one by one


def kernel_cases(bits: np.ndarray, k_dim: int) -> dict[str, tuple[Callable, Callable]]:
    """Kernel name -> (numba call, numpy reference call) on ``bits``."""
    def pair(name: str, *args: object) -> tuple[Callable, Callable]:
        return (lambda: getattr(kern, name)(bits, *args), lambda: getattr(ref, name)(bits, *args))

    return {
        "popcount_rows": pair("popcount_rows"),
        "tile_nonzero_counts 128x128": pair("tile_nonzero_counts", k_dim, 128, 128),
        "lane_work lanes=32 block=1": pair("lane_work", k_dim, 32, 1),
        "lane_work lanes=32 block=16": pair("lane_work", k_dim, 32, 16),
        "lane_work lanes=32 block=128": pair("lane_work", k_dim, 32, 128),
        GENERAL_PATH: pair("lane_work", k_dim, 32, 96),
        "batch_union_counts batch=8": pair("batch_union_counts", 8),
        "union_bits batch=8": pair("union_bits", 8),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--k-dim", type=int, default=16384)
    ap.add_argument("--dram-tokens", type=int, default=65536)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    bw = memory_bandwidth_bytes_per_s()
    print(f"memory bandwidth (numpy copy, read+write): {bw / 1e9:.2f} GB/s")

    mask = relu_masks(args.tokens, args.k_dim, 0.05, seed=0)
    bits = np.ascontiguousarray(mask.bits)
    big = np.tile(bits, (max(1, args.dram_tokens // args.tokens), 1))
    unaligned = relu_masks(args.tokens, args.k_dim - 1, 0.05, seed=0).bits  # rows not 8-aligned
    print(f"mask {args.tokens} x {args.k_dim} = {bits.nbytes / 2**20:.0f} MiB packed; "
          f"DRAM case {big.shape[0]} tokens = {big.nbytes / 2**20:.0f} MiB; one core")
    # A copy counts read + written bytes; a mask kernel only reads. The fastest numpy read-only
    # pass over the DRAM-resident mask is what one core can stream at all ("/read" column).
    big_words = big.reshape(-1).view(np.uint64)
    read_ceiling = big.nbytes / best_seconds(lambda: big_words.max(), args.repeats)
    print(f"one-core read ceiling (numpy max over the DRAM case): {read_ceiling / 1e9:.2f} GB/s "
          f"= {read_ceiling / bw:.2f} x bandwidth\n")

    header = (f"{'kernel':32s} {'GB/s':>7s} {'/bw':>6s} {'numpy GB/s':>10s} {'speed-up':>9s} "
              f"{'DRAM GB/s':>9s} {'/bw':>6s} {'/read':>6s}")
    print(header)
    print("-" * len(header))
    cache_ratios, dram_ratios = [], []
    cases = kernel_cases(bits, args.k_dim)
    big_cases = kernel_cases(big, args.k_dim)
    cases["popcount_rows (K-1, unaligned)"] = (lambda: kern.popcount_rows(unaligned),
                                                lambda: ref.popcount_rows(unaligned))
    for name, (fast, slow) in cases.items():
        fast()  # JIT compile / load from cache
        t_fast = best_seconds(fast, args.repeats)
        t_slow = best_seconds(slow, 1)
        nbytes = unaligned.nbytes if "unaligned" in name else bits.nbytes
        line = (f"{name:32s} {nbytes / t_fast / 1e9:7.2f} {nbytes / t_fast / bw:6.2f} "
                f"{nbytes / t_slow / 1e9:10.3f} {t_slow / t_fast:8.0f}x")
        if name != GENERAL_PATH:
            cache_ratios.append(nbytes / t_fast / bw)
        if name in big_cases:
            t_big = best_seconds(big_cases[name][0], 5)
            if name != GENERAL_PATH:
                dram_ratios.append(big.nbytes / t_big / bw)
            rate = big.nbytes / t_big
            line += f" {rate / 1e9:9.2f} {rate / bw:6.2f} {rate / read_ceiling:6.2f}"
        print(line + ("  (general path, no target)" if name == GENERAL_PATH else ""))

    routes = moe_routes(1 << 20, 64, 2, seed=0, routing="zipf")
    kern.expert_loads(routes, 64, 40000)
    t_fast = best_seconds(lambda: kern.expert_loads(routes, 64, 40000), args.repeats)
    t_slow = best_seconds(lambda: ref.expert_loads(routes, 64, 40000), 3)
    print(f"\nexpert_loads (2^20 tokens, top-2 of 64): {routes.size / t_fast / 1e6:.0f} M "
          f"routes/s, {t_slow / t_fast:.1f}x numpy bincount (order-aware admission; no "
          "bandwidth target)\n")

    for label, ratios in (("mask", cache_ratios), ("DRAM-resident mask", dram_ratios)):
        worst = min(ratios)
        verdict = "met" if worst >= TARGET_RATIO else "NOT met"
        print(f"slowest fast-path kernel, {label}: {worst:.2f} x bandwidth; "
              f"target >= {TARGET_RATIO} {verdict}")


if __name__ == "__main__":
    main()
