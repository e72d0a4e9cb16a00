"""Fixtures and end-of-run reports of the reliability suite.

- Every test of this folder ends with a check that its captured logs hold no secret; at the end of
  the session the captured output of EVERY test of the run (not only this folder's) is scanned the
  same way, and the run fails if one leaked.
- The terminal summary prints the fault matrix and the bad-input figures.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from typing import Any, cast

import pytest

from chime_kvs_pool.runtime import lifecycle
from local.chime_emulator.model import ChimeEmulator, RequestRecord
from local.response_server import ResponseServer

from .rel_report import BAD_INPUT, MATRIX, SECRETS, secrets_in

_LEAKS_KEY = pytest.StashKey[list[str]]()
# lifecycle.client_request_token: the first TOKEN_LENGTH hex digits of a SHA-256.
HANDLER_TOKEN_RE = re.compile(f"[0-9a-f]{{{lifecycle.TOKEN_LENGTH}}}")


def pytest_configure(config: pytest.Config) -> None:
    """Remember every signature and ClientRequestToken handed out in this run, whoever's test."""
    original_url_for = ResponseServer.url_for
    original_record = ChimeEmulator.record

    @functools.wraps(original_url_for)
    def url_for(self: ResponseServer, request_id: str, **kwargs: Any) -> str:
        url = original_url_for(self, request_id, **kwargs)
        match = re.search(r"X-Amz-Signature=([0-9a-f]+)", url)
        if match:
            SECRETS.add(match.group(1))
        return url

    @functools.wraps(original_record)
    def record(self: ChimeEmulator, entry: RequestRecord) -> None:
        token = entry.params.get("ClientRequestToken") if isinstance(entry.params, dict) else None
        # Only the tokens our handler derives (a hash); other suites pick short tokens of their own
        # such as "second", which would then be "found" in any log that happens to hold that word.
        if isinstance(token, str) and HANDLER_TOKEN_RE.fullmatch(token):
            SECRETS.add(token)
        original_record(self, entry)

    ResponseServer.url_for = url_for  # type: ignore[method-assign]
    ChimeEmulator.record = record  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _logs_hold_no_secrets(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)  # what the handler logs in Lambda: INFO and above
    yield
    text = "\n".join(
        record.getMessage() + (record.exc_text or "")
        for when in ("setup", "call")
        for record in caplog.get_records(when)
    )
    assert secrets_in(text) == [], "the logs of this test hold a secret or a raw event"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A fault matrix cell passes when its setup, call and teardown all pass."""
    for key, value in report.user_properties:
        if key != "fault_matrix_cell" or report.skipped:
            continue
        operation, fault = cast(tuple[str, str], value)
        if report.failed:
            MATRIX.record(operation, fault, "FAIL")
        elif report.when == "teardown" and MATRIX.cells.get((operation, fault)) != "FAIL":
            MATRIX.record(operation, fault, "pass")


# -- end of the run ------------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    leaks: list[str] = []
    if reporter is not None:
        for reports in reporter.stats.values():
            for report in reports:
                for title, text in getattr(report, "sections", []):
                    if title.startswith("Captured") and isinstance(text, str):
                        leaks += [f"{report.nodeid} ({title}): {item}" for item in secrets_in(text)]
    session.config.stash[_LEAKS_KEY] = sorted(set(leaks))
    if leaks and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    matrix = MATRIX.table()
    if matrix:
        terminalreporter.section("fault matrix (operation x injected fault)")
        for line in matrix:
            terminalreporter.write_line(line)
    figures = BAD_INPUT.table()
    if figures:
        terminalreporter.section("bad input (hypothesis cases)")
        for line in figures:
            terminalreporter.write_line(line)
    leaks = config.stash.get(_LEAKS_KEY, [])
    if SECRETS or leaks:
        terminalreporter.section("secrets in captured logs")
        terminalreporter.write_line(
            f"{len(SECRETS)} signatures and ClientRequestTokens handed out; scanned every test's "
            f"captured output: {len(leaks)} leak(s)"
        )
        for leak in leaks:
            terminalreporter.write_line(f"LEAK {leak}")
