"""Run cdk-nag's AwsSolutions pack on an app and read back what it did not accept.

Shared by the construct's own nag test (tests/unit) and the demo app's (tests/reliability).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks


def unacknowledged_findings(app: cdk.App) -> list[dict[str, Any]]:
    """Every AwsSolutions violation left after acknowledgments, as cdk-nag reports it."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError as error:  # the validation plugin fails synthesis on unacknowledged errors
        if "ValidationFailed" not in str(error):
            raise
    report_file = Path(app.outdir, "validation-report.json")
    report: dict[str, Any] = json.loads(report_file.read_text()) if report_file.exists() else {}
    return [
        violation for plugin in report.get("pluginReports", []) for violation in plugin.get("violations", [])
    ]
