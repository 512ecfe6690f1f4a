"""Iteration-level (continuous) batching with chunked prefill and recompute preemption.

The rule is vLLM's (V1 scheduler; Orca's iteration-level scheduling, Yu et al., OSDI 2022),
first come first served. Before every iteration, with a budget of ``max_batched_tokens``:

1. Running sequences, oldest admission first, each get the tokens they still need
   (``known - computed``: 1 for a decode, the rest of the prompt for a prefill), capped by the
   remaining budget (chunked prefill). A sequence whose new tokens need a KV block when none is
   free preempts the newest running sequence (its blocks are freed, its KV will be recomputed:
   it returns to the head of the waiting queue with prompt + generated tokens to prefill);
   if it is itself the newest, it is preempted.
2. If nothing was preempted, waiting sequences are admitted in order while the budget, the
   ``max_num_seqs`` seats and the free blocks for their first chunk allow; admission stops at
   the first that does not fit (no overtaking).

A sequence emits a token at the end of the iteration in which its computed tokens reach its
known tokens (the prompt's last chunk gives the first token; each decode gives one more).
"""

from __future__ import annotations

from collections import deque

from hwsim.serving.kv_cache import BlockPool


class Seq:
    """One request's state; times in seconds."""

    __slots__ = ("arrival_s", "blocks", "computed", "finish_s", "first_token_s", "generated",
                 "index", "known", "last_token_s", "output", "preemptions", "prompt")

    def __init__(self, index: int, arrival_s: float, prompt: int, output: int) -> None:
        self.index = index
        self.arrival_s = arrival_s
        self.prompt = prompt
        self.output = output
        self.known = prompt  # prompt + generated tokens
        self.computed = 0  # tokens whose KV is in the cache
        self.generated = 0
        self.blocks = 0
        self.first_token_s = -1.0
        self.last_token_s = -1.0
        self.finish_s = -1.0
        self.preemptions = 0


class Scheduler:
    """The running and waiting sets and the per-iteration rule (module docstring)."""

    def __init__(self, pool: BlockPool, *, max_num_seqs: int, max_batched_tokens: int) -> None:
        self.pool = pool
        self.max_num_seqs = max_num_seqs
        self.max_batched_tokens = max_batched_tokens
        self.running: list[Seq] = []
        self.waiting: deque[Seq] = deque()
        self.preemptions = 0

    def schedule(self) -> tuple[list[tuple[Seq, int]], bool]:
        """The next iteration's (sequence, new tokens) and whether it preempted anything.
        Blocks for the scheduled tokens are taken from the pool here."""
        budget = self.max_batched_tokens
        plan: list[tuple[Seq, int]] = []
        preempted = False
        i = 0
        while i < len(self.running) and budget > 0:
            seq = self.running[i]
            n = min(seq.known - seq.computed, budget)
            need = self.pool.blocks_for(seq.computed + n) - seq.blocks
            while need > self.pool.free and self.running[-1] is not seq:
                self._preempt(self.running.pop())
                preempted = True
            if need > self.pool.free:  # seq is the newest: it yields its own blocks
                self._preempt(self.running.pop())
                preempted = True
                break
            self._take(seq, need)
            plan.append((seq, n))
            budget -= n
            i += 1
        if preempted:
            return plan, True
        while self.waiting and budget > 0 and len(self.running) < self.max_num_seqs:
            seq = self.waiting[0]
            n = min(seq.known - seq.computed, budget)
            need = self.pool.blocks_for(n)
            if need > self.pool.free:
                break
            self.waiting.popleft()
            self._take(seq, need)
            self.running.append(seq)
            plan.append((seq, n))
            budget -= n
        return plan, False

    def finish(self, seq: Seq) -> None:
        """Release a finished sequence's blocks and seat."""
        self.pool.free += seq.blocks
        seq.blocks = 0
        self.running.remove(seq)

    def _take(self, seq: Seq, blocks: int) -> None:
        self.pool.free -= blocks
        seq.blocks += blocks

    def _preempt(self, seq: Seq) -> None:
        self.pool.free += seq.blocks
        seq.blocks = 0
        seq.computed = 0
        seq.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(seq)
