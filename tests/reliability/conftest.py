"""Fixtures and figures of the reliability suite.

- Every test of this folder ends with a check that its captured logs hold no secret; at the end of
  the session the captured output of EVERY test of the run (not only this folder's) is scanned the
  same way, and the run fails if one leaked (``tests/conftest.py``, which also runs on the
  controller of a pytest-xdist run, where this folder's conftest is never loaded).
- The fault matrix's cells and the bad-input figures are recorded here, in the process that runs
  the test, and printed at the end of the run by ``tests/conftest.py``.
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

from .rel_report import MATRIX, SECRETS, secrets_in

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
