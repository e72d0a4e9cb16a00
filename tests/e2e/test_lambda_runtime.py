"""The local Lambda runtime with a small function of the test's own (not the product's handler)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.lambda_runtime import FunctionConfig, LocalLambda

PROBE = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {
        "file": __file__,
        "pid": os.getpid(),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "memory": context.memory_limit_in_mb,
        "colour": os.environ.get("COLOUR"),
    }
"""


@pytest.fixture
def function(tmp_path: Path) -> LocalLambda:
    code = tmp_path / "code"
    code.mkdir()
    (code / "probe.py").write_text(PROBE)
    config = FunctionConfig(
        function_name="probe",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:probe",
        handler="probe.handler",
        code_dir=code,
        timeout_seconds=3,
        memory_mb=256,
        environment={"COLOUR": "teal"},
    )
    return LocalLambda(config, log_file=tmp_path / "probe.log")


def test_runs_from_the_code_folder_with_the_function_settings(function: LocalLambda) -> None:
    with function:
        first = function.invoke({})
        second = function.invoke({})
    assert first.ok and second.ok
    assert first.payload["file"] == str(function.config.code_dir / "probe.py")
    assert first.payload["colour"] == "teal"
    assert first.payload["memory"] == "256"
    assert 0 < first.payload["remaining_ms"] <= 3000
    assert first.payload["pid"] == second.payload["pid"]  # warm: one process, reused
    assert function.cold_starts == 1


def test_handler_error_is_reported_and_the_process_stays(function: LocalLambda) -> None:
    with function:
        failed = function.invoke({"fail": True})
        after = function.invoke({})
    assert failed.outcome == "error"
    assert failed.error_type == "ValueError"
    assert after.ok and function.cold_starts == 1


def test_timeout_kills_the_process_and_the_next_invocation_starts_cold(function: LocalLambda) -> None:
    with function:
        timed_out = function.invoke({"sleep": 10})
        after = function.invoke({})
    assert timed_out.outcome == "timeout"
    assert after.ok
    assert function.cold_starts == 2


def test_import_error_is_an_init_error(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "broken.py").write_text("import no_such_module_here\n")
    config = FunctionConfig(
        "broken", "arn:aws:lambda:us-east-1:123456789012:function:broken", "broken.handler", code
    )
    with LocalLambda(config) as function:
        result = function.invoke({})
    assert result.outcome == "init_error"


def test_concurrent_invocations_run_in_separate_environments_up_to_the_limit(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "probe.py").write_text(PROBE)
    config = FunctionConfig(
        "probe", "arn:aws:lambda:us-east-1:123456789012:function:probe", "probe.handler", code, 30
    )
    with LocalLambda(config, max_environments=2) as function:
        # Three at once: two environments start cold, the third invocation waits for one of them.
        first = [function.invoke_async({"sleep": 1.0}) for _ in range(3)]
        first_pids = [future.result().payload["pid"] for future in first]
        assert len(set(first_pids)) == 2
        assert (function.cold_starts, function.environments) == (2, 2)
        # Later ones are warm: the same two processes, no new cold start.
        later = [function.invoke_async({"sleep": 0.2}) for _ in range(2)]
        assert {future.result().payload["pid"] for future in later} <= set(first_pids)
        assert function.cold_starts == 2
