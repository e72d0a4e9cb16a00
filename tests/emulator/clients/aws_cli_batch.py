"""Run many AWS CLI commands in one interpreter: the CLI's own driver, one fresh driver per case.

Started by tests/emulator/test_aws_cli.py as ``python aws_cli_batch.py`` with the cases as JSON on
stdin; prints one JSON result per case (exit code, stdout, stderr). Each case gets a new
``CLIDriver`` and session, exactly what the ``aws`` command builds, so only the interpreter start
and the imports (most of a CLI call's cost) are shared. A case may first arm an emulator fault
through the admin API (``"arm": {...}``) and may set environment variables (``"env": {...}``). An
argument ``@case.Key.Member`` is replaced by that member of an earlier case's JSON output (a page's
``NextToken``, a created pool's ARN).

Never imported by the test process: importing awscli installs an import hook that aliases
``botocore`` to the CLI's own copy.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import urllib.request
from typing import Any


def _reset_logging() -> None:
    """``--debug`` adds stream handlers to the CLI's loggers; drop them so cases stay separate."""
    for logger in [logging.getLogger(), *logging.root.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)


def _arm(endpoint_url: str, fault: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{endpoint_url}/_emulator/faults", data=json.dumps(fault).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _argument(text: str, outputs: dict[str, Any]) -> str:
    if text.startswith("@") and "." in text:
        case, *keys = text[1:].split(".")
        value: Any = outputs[case]
        for key in keys:
            value = value[key]
        return str(value)
    return text


def run_case(case: dict[str, Any], base_env: dict[str, str], outputs: dict[str, Any]) -> dict[str, Any]:
    from awscli.clidriver import create_clidriver  # the CLI's own entry point, as `aws` uses

    if case.get("arm"):
        _arm(base_env["AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES"], case["arm"])
    os.environ.clear()
    os.environ.update(base_env)
    os.environ.update(case.get("env", {}))
    _reset_logging()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = create_clidriver().main([_argument(arg, outputs) for arg in case["args"]])
        except SystemExit as exit_:  # argparse usage errors exit
            rc = exit_.code if isinstance(exit_.code, int) else 255
    if rc == 0 and out.getvalue().strip():
        outputs[case["name"]] = json.loads(out.getvalue())
    return {"name": case["name"], "rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> int:
    cases: list[dict[str, Any]] = json.load(sys.stdin)
    import awscli  # sets AWS_DATA_PATH (the CLI's own data), which every case must keep

    assert awscli.__version__
    base_env = dict(os.environ)
    outputs: dict[str, Any] = {}
    results = [run_case(case, base_env, outputs) for case in cases]
    sys.stdout.write(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
