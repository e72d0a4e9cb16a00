"""Shared fixtures (a running Chime SDK Media Pipelines emulator and a real boto3 client for it), and
the end-of-run reports: the fault matrix, the bad-input figures and the scan of every test's captured
output for secrets.

``make test`` runs the suite in pytest-xdist workers. The figures are recorded in the worker that
runs each test (``tests/reliability``); each worker hands its figures and the secrets it saw to the
controller when it finishes (``workeroutput``), and the controller, which holds every test's report,
prints the tables and scans the captured output of the whole run. Without xdist, one process does both.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.chime_emulator import ChimeEmulator, EmulatorServer
from tests.reliability import rel_report

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


@dataclass
class RunningEmulator:
    """The backend (state, request log, faults), its URL, and a client pointed at it."""

    backend: ChimeEmulator
    endpoint_url: str
    client: Any  # mypy_boto3_chime_sdk_media_pipelines.ChimeSDKMediaPipelinesClient
    server: EmulatorServer | None = None  # e.g. to switch its API rate limits on

    def client_for(self, region: str = REGION, **config: Any) -> Any:
        """Another client for this emulator: another region, or other botocore ``Config`` settings."""
        return emulator_client(self.endpoint_url, region, **config)


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every test client: it loads the service model once, not per test."""
    return boto3.session.Session()


def emulator_client(endpoint_url: str, region: str = REGION, **config: Any) -> Any:
    """A real boto3 client for the emulator: dummy credentials, bounded timeouts, no retries."""
    settings: dict[str, Any] = {
        "connect_timeout": 5,
        "read_timeout": 10,
        "retries": {"total_max_attempts": 1},
    }
    settings.update(config)
    return _session().client(
        "chime-sdk-media-pipelines",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**settings),
    )


@pytest.fixture
def chime_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """A fresh emulator on an ephemeral loopback port; code under test finds it through the env."""
    backend = ChimeEmulator(account_id=ACCOUNT_ID)
    with EmulatorServer(backend, host="127.0.0.1", port=0) as server:
        # One port serves the pool API, the pools' streams (kinesisvideo) and their role (iam).
        for variable in (
            "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES",
            "AWS_ENDPOINT_URL_KINESIS_VIDEO",
            "AWS_ENDPOINT_URL_IAM",
        ):
            monkeypatch.setenv(variable, server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv("AWS_REGION", REGION)
        yield RunningEmulator(backend, server.endpoint_url, emulator_client(server.endpoint_url), server)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# -- pytest-xdist: which tests go to a worker together, and in what order ----------------------------

# ``make test`` runs ``--dist loadscope``, refined here (not loadgroup: pytest-xdist 3.8.0 groups by
# renaming node ids, which pytest 9.2 no longer allows, so ``xdist_group`` marks group nothing and are
# ignored). A worker gets a whole module at a time, so a module-scoped fixture (a synth, a set of
# checkouts, the smoke bench) is built once, not once per worker. These modules, long and made of
# independent tests whose fixtures are cheap or built once per run (tests/shared_work.py), are
# handed out test by test instead:
SPLIT_MODULES = frozenset(
    {
        "tests/reliability/test_fault_matrix.py",
        "tests/reliability/test_bad_input.py",
        "tests/e2e/test_lifecycle.py",
        "tests/e2e/test_delete_permissions.py",
        "tests/wheel/test_asset_hash.py",
    }
)
# ... and these by parameter: each of their parametrized (session-scoped) fixtures, such as a
# virtualenv per aws-cdk-lib version, is built by one worker, the versions side by side.
SPLIT_BY_PARAMETER_MODULES = frozenset({"tests/wheel/test_wheel.py"})
# Work handed out longest first, so that no long module starts last and runs alone at the end (the
# longest, by --durations); the fault matrix's many short cells come last and fill the gaps.
FIRST_MODULES = (
    "tests/wheel/test_wheel.py",
    "tests/wheel/test_asset_hash.py",
    "tests/e2e/test_demo.py",
    "tests/bench/test_bench_smoke.py",
    "tests/reliability/test_bad_input.py",
    "tests/e2e/test_safety.py",
    "tests/unit/test_app.py",
)
LAST_MODULES = ("tests/reliability/test_fault_matrix.py",)


def _module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker: the long modules first, the fault matrix last (the order the controller
    hands the work out in; every worker sorts alike). Without xdist, pytest's own order is kept."""
    if not _is_xdist_worker(config):
        return

    def rank(item: pytest.Item) -> int:
        module = _module_of(item.nodeid)
        if module in FIRST_MODULES:
            return FIRST_MODULES.index(module)
        return len(FIRST_MODULES) + (1 if module in LAST_MODULES else 0)

    items.sort(key=rank)  # stable: each module keeps its own order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The controller's scheduler: loadscope with the scopes above, in the workers' order."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleTestOrParameterScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = _module_of(nodeid)
            if module in SPLIT_MODULES:
                return nodeid
            if module in SPLIT_BY_PARAMETER_MODULES and nodeid.endswith("]"):
                return module + nodeid[nodeid.index("[") :]
            return module

    config.option.loadscopereorder = False  # keep the order above, not "most tests first"
    return ModuleTestOrParameterScheduling(config, log)


# -- end of the run (every process: the single one, or an xdist worker and the controller) ---------

_LEAKS_KEY = pytest.StashKey[list[str]]()
_WORKER_REPORT_KEY = "chime_kvs_pool_reliability"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: a worker finished; add its figures and secrets to the run's report."""
    received: Mapping[str, Any] | None = getattr(node, "workeroutput", {}).get(_WORKER_REPORT_KEY)
    if received is not None:
        rel_report.merge(dict(received))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_xdist_worker(config):
        config.workeroutput[_WORKER_REPORT_KEY] = rel_report.snapshot()  # type: ignore[attr-defined]
        return  # the controller scans every test's output once it has every worker's secrets
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    leaks: list[str] = []
    if reporter is not None:
        for reports in reporter.stats.values():
            for report in reports:
                for title, text in getattr(report, "sections", []):
                    if title.startswith("Captured") and isinstance(text, str):
                        found = rel_report.secrets_in(text)
                        leaks += [f"{report.nodeid} ({title}): {item}" for item in found]
    config.stash[_LEAKS_KEY] = sorted(set(leaks))
    if leaks and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_xdist_worker(config):
        return
    matrix = rel_report.MATRIX.table()
    if matrix:
        terminalreporter.section("fault matrix (operation x injected fault)")
        for line in matrix:
            terminalreporter.write_line(line)
    figures = rel_report.BAD_INPUT.table()
    if figures:
        terminalreporter.section("bad input (hypothesis cases)")
        for line in figures:
            terminalreporter.write_line(line)
    leaks = config.stash.get(_LEAKS_KEY, [])
    if rel_report.SECRETS or leaks:
        terminalreporter.section("secrets in captured logs")
        terminalreporter.write_line(
            f"{len(rel_report.SECRETS)} signatures and ClientRequestTokens handed out; scanned every "
            f"test's captured output: {len(leaks)} leak(s)"
        )
        for leak in leaks:
            terminalreporter.write_line(f"LEAK {leak}")
