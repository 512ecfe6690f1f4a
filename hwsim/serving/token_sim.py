"""The token-level event loop: arrivals, iterations of the scheduler, one chip.

Time advances by iterations (each costs :class:`~hwsim.serving.step_cost.StepCost` of its
shape); when nothing can run the chip idles until the next arrival. Requests arriving during an
iteration join the waiting queue before the next one. Every admitted request is served (the
queue drains after the last arrival).

Fast-forward. Runs of pure-decode iterations are stepped without the scheduler when nothing
can change its decisions: every running sequence is decoding (has emitted a token and has one
new token to compute: not a prefill's last one-token chunk) and they fit the token budget, the
last iteration neither preempted nor finished anything, the waiting head (if any) cannot join
(no seat, no budget left beside the decodes, or too few free blocks: all stay so while only
decodes run), and no request arrives. The run is cut
at the first completion, at the first arrival, and where the KV blocks those decodes need
would exceed the free blocks; the result is identical to stepping one iteration at a time
(a test compares both). For an MoE model a run is also cut at :data:`MOE_RUN` iterations: each
iteration's routing is drawn before it is priced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.serving.kv_cache import BlockPool
from hwsim.serving.scheduler import Scheduler, Seq
from hwsim.serving.step_cost import StepCost
from hwsim.serving.step_moe import MoeDraw

MOE_RUN = 256  # iterations an MoE decode run draws ahead at most (draws are per iteration)


@dataclass(frozen=True, eq=False)
class TokenTrace:
    """Per-request and per-iteration records of one run (seconds, joules, tokens)."""

    arrival_s: np.ndarray  # (n,)
    prompt_tokens: np.ndarray  # (n,) int64
    output_tokens: np.ndarray  # (n,) int64
    first_token_s: np.ndarray  # (n,)
    finish_s: np.ndarray  # (n,)
    preemptions: np.ndarray  # (n,) int64
    step_start_s: np.ndarray  # (steps,)
    step_latency_s: np.ndarray  # (steps,)
    step_energy_j: np.ndarray  # (steps,)
    step_tokens: np.ndarray  # (steps,) int64: tokens computed in the iteration
    step_seqs: np.ndarray  # (steps,) int64: sequences in the iteration
    step_kv_blocks: np.ndarray  # (steps,) int64: blocks held during the iteration
    gap_s: np.ndarray  # inter-token gaps (decode tokens), one per distinct value run
    gap_weight: np.ndarray  # how many tokens had each gap
    step_union: np.ndarray  # (steps,): union density of the reference sparse op (NaN: dense)
    step_moe: np.ndarray  # (steps, 4) or (0, 4): active experts, max load / fair, dropped,
    # padded rows per expert GEMM
    preemption_events: int


def run_tokens(cost: StepCost, pool: BlockPool, arrival_s: np.ndarray, prompt: np.ndarray,
               output: np.ndarray, *, max_num_seqs: int, max_batched_tokens: int,
               fast_forward: bool = True, seed: int = 0) -> TokenTrace:
    """Serve every request; ``arrival_s`` non-decreasing (s), lengths in tokens. ``seed``
    seeds the per-iteration MoE routing draws."""
    n = int(arrival_s.shape[0])
    times = arrival_s.tolist()
    seqs = [Seq(i, times[i], int(prompt[i]), int(output[i])) for i in range(n)]
    sched = Scheduler(pool, max_num_seqs=max_num_seqs, max_batched_tokens=max_batched_tokens)
    rec = _Recorder(cost, seed)
    now, nxt = 0.0, 0
    while True:
        while nxt < n and times[nxt] <= now:
            sched.waiting.append(seqs[nxt])
            nxt += 1
        plan, preempted = sched.schedule()
        if not plan:
            if nxt < n:
                now = max(now, times[nxt])
                continue
            if sched.waiting or sched.running:
                raise RuntimeError("scheduler stalled with work left (a request larger than "
                                   "the KV cache should have been rejected)")
            break
        now, finished = _iterate(cost, sched, plan, now, rec)
        next_arrival = times[nxt] if nxt < n else float("inf")
        if (fast_forward and not preempted and not finished and sched.running
                and next_arrival > now and len(sched.running) <= max_batched_tokens
                and all(s.known - s.computed == 1 and s.generated for s in sched.running)
                and not _admissible(sched)):
            now = _decode_run(cost, sched, now, next_arrival, rec)
    return TokenTrace(
        arrival_s=np.asarray(arrival_s, dtype=np.float64),
        prompt_tokens=np.asarray(prompt, dtype=np.int64),
        output_tokens=np.asarray(output, dtype=np.int64),
        first_token_s=np.array([s.first_token_s for s in seqs]),
        finish_s=np.array([s.finish_s for s in seqs]),
        preemptions=np.array([s.preemptions for s in seqs], dtype=np.int64),
        step_start_s=np.asarray(rec.start), step_latency_s=np.asarray(rec.latency),
        step_energy_j=np.asarray(rec.energy), step_tokens=np.asarray(rec.tokens, dtype=np.int64),
        step_seqs=np.asarray(rec.seqs, dtype=np.int64),
        step_kv_blocks=np.asarray(rec.blocks, dtype=np.int64),
        gap_s=np.asarray(rec.gap), gap_weight=np.asarray(rec.gap_weight, dtype=np.int64),
        step_union=np.asarray(rec.union, dtype=np.float64),
        step_moe=np.asarray([(d.active, d.max_over_fair, d.dropped, d.padded_tokens)
                             for d in rec.moe], dtype=np.float64).reshape(-1, 4),
        preemption_events=sched.preemptions)


class _Recorder:
    def __init__(self, cost: StepCost, seed: int) -> None:
        self.moe_law = cost.moe
        self.seed = seed
        self.moe: list[MoeDraw] = []
        self.start: list[float] = []
        self.latency: list[float] = []
        self.energy: list[float] = []
        self.tokens: list[int] = []
        self.seqs: list[int] = []
        self.blocks: list[int] = []
        self.gap: list[float] = []
        self.gap_weight: list[int] = []
        self.union: list[float] = []

    def draw(self, tokens: int, ahead: int = 0) -> MoeDraw | None:
        """The routing of the iteration ``ahead`` after the next one to be recorded."""
        if self.moe_law is None:
            return None
        return self.moe_law.draw(tokens, self.seed, len(self.start) + ahead)

    def step(self, start: float, latency: float, energy: float, tokens: int, seqs: int,
             blocks: int, moe: MoeDraw | None) -> None:
        self.start.append(start)
        self.latency.append(latency)
        self.energy.append(energy)
        self.tokens.append(tokens)
        self.seqs.append(seqs)
        self.blocks.append(blocks)
        if moe is not None:
            self.moe.append(moe)


def _iterate(cost: StepCost, sched: Scheduler, plan: list[tuple[Seq, int]], now: float,
             rec: _Recorder) -> tuple[float, bool]:
    """Run one scheduled iteration; returns the new time and whether a request finished."""
    tokens = emitting = decodes = 0
    decode_kv = 0
    prefills: list[tuple[int, int]] = []
    for seq, k in plan:
        tokens += k
        if seq.computed + k == seq.known:
            emitting += 1
        if k == 1 and seq.computed > 0:
            decodes += 1
            decode_kv += seq.computed + 1
        else:
            prefills.append((k, seq.computed + k))
    draw = rec.draw(tokens)
    latency, energy = cost.step(tokens, emitting, decodes,
                                decode_kv / decodes if decodes else 0.0, prefills, draw,
                                scheduled=len(plan))
    rec.step(now, latency, energy, tokens, len(plan), sched.pool.used, draw)
    union = cost.union(decodes, [q for q, _ in prefills])
    rec.union.append(float("nan") if union is None else union)
    now += latency
    finished = False
    for seq, k in plan:
        seq.computed += k
        if seq.computed < seq.known:
            continue
        if seq.generated == 0:
            seq.first_token_s = now
        else:
            rec.gap.append(now - seq.last_token_s)
            rec.gap_weight.append(1)
        seq.last_token_s = now
        seq.generated += 1
        seq.known += 1
        if seq.generated == seq.output:
            seq.finish_s = now
            sched.finish(seq)
            finished = True
    return now, finished


def _admissible(sched: Scheduler) -> bool:
    """Could the waiting head join an iteration of the running decodes? If not now, then not
    during a decode run either: seats and the budget left stay, free blocks only shrink."""
    if not sched.waiting or len(sched.running) >= sched.max_num_seqs:
        return False
    budget = sched.max_batched_tokens - len(sched.running)
    head = sched.waiting[0]
    return budget > 0 and sched.pool.blocks_for(min(head.known - head.computed, budget)) \
        <= sched.pool.free


def _decode_run(cost: StepCost, sched: Scheduler, now: float, next_arrival: float,
                rec: _Recorder) -> float:
    """Pure-decode iterations until a completion, an arrival or a block shortage."""
    running = sched.running
    pool = sched.pool
    bs = pool.block_size
    computed = np.array([s.computed for s in running], dtype=np.int64)
    held = np.array([s.blocks for s in running], dtype=np.int64)
    remaining = min(s.output - s.generated for s in running)
    # Blocks the decodes of the next k iterations add, k = 1..remaining (monotone in k); the
    # run stops before the first k that would need more than the free pool.
    steps = np.arange(1, remaining + 1, dtype=np.int64)
    need = ((computed[None, :] + steps[:, None] + bs - 1) // bs - held[None, :]).sum(axis=1)
    lo = int(np.searchsorted(need, pool.free, side="right"))
    if rec.moe_law is not None:
        lo = min(lo, MOE_RUN)
    if lo == 0:
        return now
    batch = len(running)
    steps = steps[:lo]
    # Integer sums, then one division: the same floats as stepping one iteration at a time.
    kv_mean = (int(computed.sum()) + steps * batch) / batch
    draws = [d for j in range(lo) if (d := rec.draw(batch, j)) is not None]
    latency, energy = cost.decode_costs(batch, kv_mean, draws or None)
    ends = np.cumsum(np.concatenate([[now], latency]))[1:]  # sequential sums, as now += lat
    hits = np.flatnonzero(ends >= next_arrival)
    done = int(hits[0]) + 1 if hits.size else lo
    starts = np.concatenate([[now], ends[:done - 1]])
    rec.start.extend(starts.tolist())
    rec.latency.extend(latency[:done].tolist())
    rec.energy.extend(energy[:done].tolist())
    rec.tokens.extend([batch] * done)
    rec.seqs.extend([batch] * done)
    rec.blocks.extend((pool.used + need[:done]).tolist())
    rec.moe.extend(draws[:done])
    union = cost.union(batch, [])
    rec.union.extend([float("nan") if union is None else union] * done)
    first_end = float(ends[0])
    rec.gap.extend([first_end - s.last_token_s for s in running])  # from each own last token
    rec.gap_weight.extend([1] * batch)
    rec.gap.extend(np.diff(ends[:done]).tolist())  # as now - last_token_s would give
    rec.gap_weight.extend([batch] * (done - 1))
    now = float(ends[done - 1])
    new_held = (computed + done + bs - 1) // bs
    pool.free -= int((new_held - held).sum())
    for i, seq in enumerate(list(running)):
        seq.blocks = int(new_held[i])
        seq.computed += done
        seq.generated += done
        seq.known += done
        seq.last_token_s = now
        if seq.generated == seq.output:
            seq.finish_s = now
            sched.finish(seq)
    return now
