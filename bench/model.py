"""How a refresh's cost grows with the time RDS takes: a model of the state machine's polling.

Every wait is a Task that fails with NotReady until RDS is done, under a Retry on NotReady
(statemachine/refresh.asl.json). On AWS the pause before retry k is
min(IntervalSeconds * BackoffRate^(k-1), MaxDelaySeconds), and there are at most MaxAttempts
retries. A wait that RDS ends T seconds after the first poll therefore takes the smallest n
with pause_1 + ... + pause_n >= T retries (n + 1 polls), each one more state transition, one
more Lambda invocation and one more Describe call. The time a poll itself takes (well under a
second) is left out; no NotReady retrier has jitter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

# What each kind of RDS work is: the task that starts it, and the emulator transition that
# holds it (local/emulator/rds_emulator.py).
STEPS = {
    "copy": ("CopySnapshotFunctionArn", "snapshot.creating"),
    "delete": ("DeleteTargetFunctionArn", "instance.deleting"),
    "restore": ("RestoreTargetFunctionArn", "instance.creating"),
    "configure": ("ConfigureTargetFunctionArn", "instance.modifying"),
    "rename": ("RenameTargetFunctionArn", "instance.renaming"),
}


@dataclass(frozen=True)
class Policy:
    """A NotReady retrier."""

    interval: float
    rate: float
    max_delay: float | None
    max_attempts: int

    def pause(self, k: int) -> float:
        """The pause before retry k (1-based)."""
        pause = self.interval * self.rate ** (k - 1)
        return min(pause, self.max_delay) if self.max_delay is not None else pause

    def elapsed(self, retries: int) -> float:
        """Seconds from the first poll to poll `retries + 1`."""
        return sum(self.pause(k) for k in range(1, retries + 1))

    def retries(self, seconds: float) -> int:
        """Retries until a wait of `seconds` is seen to be over; ValueError when MaxAttempts
        runs out first (the execution would fail with WaitTimedOut)."""
        n, elapsed = 0, 0.0
        while elapsed < seconds:
            n += 1
            if n > self.max_attempts:
                raise ValueError(f"a wait of {seconds:.0f} s needs more than MaxAttempts = {self.max_attempts} retries")
            elapsed += self.pause(n)
        return n

    def limit(self) -> float:
        """The longest wait this retrier sees to its end."""
        return self.elapsed(self.max_attempts)

    def describe(self) -> str:
        cap = f", at most {self.max_delay:g} s" if self.max_delay is not None else ""
        return f"{self.interval:g} s, x{self.rate:g} per retry{cap}; {self.max_attempts} retries"


class Definition:
    def __init__(self, path: Path) -> None:
        self.states = json.loads(path.read_text())["States"]
        self._waits: dict[str, str] | None = None

    def function(self, state: dict) -> str | None:
        """The ${...FunctionArn} placeholder a Task invokes."""
        parameters = state.get("Parameters") if isinstance(state.get("Parameters"), dict) else {}
        name = parameters.get("FunctionName") or state.get("Resource", "")
        match = re.fullmatch(r"\$\{(\w+)\}", name)
        return match.group(1) if match else None

    def is_lambda(self, name: str) -> bool:
        state = self.states.get(name, {})
        return state.get("Type") == "Task" and self.function(state) is not None

    def policy(self, name: str) -> Policy | None:
        for retrier in self.states[name].get("Retry", []):
            if "NotReady" in retrier["ErrorEquals"]:
                return Policy(float(retrier.get("IntervalSeconds", 1)), float(retrier.get("BackoffRate", 2.0)),
                              float(retrier["MaxDelaySeconds"]) if "MaxDelaySeconds" in retrier else None,
                              int(retrier.get("MaxAttempts", 3)))
        return None

    def waits(self) -> dict[str, str]:
        """Each wait state (the state after a task that starts RDS work, when it polls with a
        NotReady retrier), with the kind of work it waits for."""
        if self._waits is not None:
            return self._waits
        found = {}
        for name, state in self.states.items():
            for step, (function, _) in STEPS.items():
                if state.get("Type") == "Task" and self.function(state) == function:
                    after = state.get("Next")
                    if after and self.policy(after) is not None:
                        found[after] = step
        # The deleted instance is waited for by wait-deleted wherever the delete happened.
        for name, state in self.states.items():
            if self.function(state) == "WaitDeletedFunctionArn" and self.policy(name) is not None:
                found[name] = "delete"
        self._waits = found
        return found

    def step_policy(self, step: str) -> Policy:
        """The retrier of the waits for `step`; they must all be the same, since the emulator
        holds every transition of a kind alike."""
        policies = {self.policy(name) for name, kind in self.waits().items() if kind == step}
        if len(policies) != 1:
            raise ValueError(f"the waits for {step} have {len(policies)} different NotReady retriers: {policies}")
        return policies.pop()


@dataclass
class Totals:
    """What one execution costs in the units AWS bills, and the RDS calls it makes."""

    transitions: int
    invocations: int
    calls: dict[str, int]
    retries: dict[str, int]  # NotReady retries by state, where there were any
    path: list[str]  # the states entered, each once, in order


# The states that delete the benchmark's `y` (deletion-protected in the standard world,
# local/emulator/worlds.json): delete-target turns protection off with a ModifyDBInstance first, and RDS
# refuses the delete (InvalidDBInstanceState, retried as NotReady) while that modify is being
# applied, i.e. for as long as the emulator holds a modify, and once more for the delete call
# that met it first.
PROTECTED_DELETES = ("DeleteTarget", "DeleteRetired")


def predict(definition: Definition, base: Totals, polls: dict[str, int]) -> Totals:
    """A run's totals when each wait of `base`'s path (a run in which no wait had to retry)
    takes `polls[step]` retries more. Each retry is one more transition, one more Lambda
    invocation and one more Describe call (DescribeDBSnapshots for the copy,
    DescribeDBInstances for the rest); a retried delete of the protected `y` also repeats its
    DeleteDBInstance call."""
    retries = {}
    for state, step in definition.waits().items():
        if state in base.path:  # on this mode's path
            retries[state] = polls.get(step, 0)
    calls = dict(base.calls)
    for state, n in retries.items():
        action = "DescribeDBSnapshots" if definition.waits()[state] == "copy" else "DescribeDBInstances"
        calls[action] = calls.get(action, 0) + n
    modify_polls = polls.get("configure", 0)
    for state in PROTECTED_DELETES:
        if state in base.path and modify_polls:
            retries[state] = modify_polls + 1
            calls["DescribeDBInstances"] = calls.get("DescribeDBInstances", 0) + modify_polls + 1
            calls["DeleteDBInstance"] = calls.get("DeleteDBInstance", 0) + modify_polls + 1
    extra = sum(retries.values())
    return Totals(base.transitions + extra, base.invocations + extra, calls,
                  {state: n for state, n in retries.items() if n}, base.path)
