"""Starts LocalStack (localstack.runtime.main) with its Step Functions' pauses scaled, for
scripts/sfn-local --time-scale F.

LocalStack has no setting for this (a WAIT_TIME_SCALE like Step Functions Local's is an open
feature request, localstack/localstack#13099): its interpreter sleeps each Retry pause in full
(RetrierDecl: `time.sleep(interval_seconds)`, after IntervalSeconds, BackoffRate,
MaxDelaySeconds and JitterStrategy have given the pause) and waits each Wait state in full
(WaitFunction._wait_interval). With real pauses one mock test case (DeletionProtectionStaysOn:
DeleteTarget's 35 retries, 15 s growing to 120 s) takes about an hour. This launcher makes both
pauses F times what LocalStack computed, so MaxAttempts, the backoff, the cap and the jitter all
still apply, in AWS's proportions (as run.mjs --time-scale does in the local runner). Nothing
else changes: Task and execution TimeoutSeconds stay as they are, and the mocked answers go by
attempt, not by time.

    SFN_LOCAL_TIME_SCALE=0.01 python localstack_main.py    # in LocalStack's venv, its settings in the environment

It fails loudly (exit 2) when LocalStack's code no longer has what it replaces: its version is
pinned in localstack-requirements.txt.
"""
import inspect
import os
import runpy
import sys
import time


def scale_pauses(factor: float) -> None:
    from localstack.services.stepfunctions.asl.component.common.retry import retrier_decl
    from localstack.services.stepfunctions.asl.component.state.state_wait.wait_function import wait_function

    # The Retry pause: the module's only use of `time` is that sleep.
    source = inspect.getsource(retrier_decl)
    if retrier_decl.time is not time or source.count("time.") != 1 or "time.sleep(interval_seconds)" not in source:
        raise RuntimeError("localstack's RetrierDecl no longer pauses with time.sleep(interval_seconds)")

    class ScaledTime:
        """`time` for retrier_decl: its sleep takes `factor` times as long."""

        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            time.sleep(seconds * factor)

    retrier_decl.time = ScaledTime()

    # The Wait state: LocalStack's own loop counts whole seconds (it would wait again and again
    # for a fraction), so it is replaced by one that waits `factor` times the Wait's seconds,
    # and, as LocalStack's does, goes on waiting after an unrelated wake-up while the execution
    # runs, and stops when it is stopped.
    original = getattr(wait_function.WaitFunction, "_wait_interval", None)
    if original is None or "program_state_event.wait(" not in inspect.getsource(original):
        raise RuntimeError("localstack's WaitFunction no longer waits in _wait_interval on env.program_state_event")

    def _wait_interval(self, env, wait_seconds):
        deadline = time.monotonic() + max(wait_seconds, 0) * factor
        while env.is_running():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            env.program_state_event.wait(left)

    wait_function.WaitFunction._wait_interval = _wait_interval


def main() -> None:
    text = os.environ.get("SFN_LOCAL_TIME_SCALE", "1")
    try:
        factor = float(text)
    except ValueError:
        factor = 0.0
    if not 0 < factor < float("inf"):
        sys.exit(f"localstack_main.py: SFN_LOCAL_TIME_SCALE must be a positive number, not {text!r}")
    if factor != 1:
        try:
            scale_pauses(factor)
        except Exception as error:  # noqa: BLE001: any failure to patch is the same setup error
            print(f"localstack_main.py: cannot scale LocalStack's Step Functions pauses: {error}", file=sys.stderr)
            sys.exit(2)
        print(f"localstack_main.py: every Retry pause and Wait of LocalStack's Step Functions is {factor:g} x its own", flush=True)
    runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
