"""The crhelper adapter: what index.py changes about crhelper, checked against crhelper itself."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from crhelper import CfnResource

from chime_kvs_pool.runtime import index

from .conftest import CloudFormation, pool_properties


def test_the_adapter_sets_every_attribute_crhelper_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    # AWS_SAM_LOCAL is crhelper's own way to skip its clients: good enough to list its attributes.
    monkeypatch.setenv("AWS_SAM_LOCAL", "1")
    root_level = logging.root.level
    try:
        reference = CfnResource()
    finally:
        logging.root.setLevel(root_level)

    assert set(vars(reference)) <= set(vars(index.helper))


def test_the_adapter_builds_no_polling_clients_and_does_not_sleep_on_delete() -> None:
    assert index.helper._lambda_client is None
    assert index.helper._events_client is None
    assert index.helper._logs_client is None
    assert index.helper._sleep_on_delete == 0
    assert index.helper._log_level == "INFO"


def test_importing_the_handler_creates_no_boto3_client() -> None:
    # In a fresh interpreter, as in a cold Lambda container: count clients built during import.
    probe = (
        "import botocore.client as c\n"
        "made = []\n"
        "original = c.ClientCreator.create_client\n"
        "def counting(self, service_name, *a, **k):\n"
        "    made.append(service_name)\n"
        "    return original(self, service_name, *a, **k)\n"
        "c.ClientCreator.create_client = counting\n"
        "import chime_kvs_pool.runtime.index\n"
        "print(','.join(made))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_SAM_LOCAL", None)
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(__file__).parent,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_an_unknown_request_type_fails_with_a_reason_naming_it(cfn: CloudFormation) -> None:
    response = cfn.send(cfn.event("Rename", pool_properties(), physical_id="not-a-pool"))
    assert response["Status"] == "FAILED"
    assert "unknown RequestType 'Rename'" in response["Reason"]
    assert cfn.calls() == []
