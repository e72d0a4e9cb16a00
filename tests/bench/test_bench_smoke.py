"""The benchmark's code paths with tiny parameters: well-formed rows, a README and a chart.

No timing assertions: only that every case ran, produced the rows it should, and that the
deterministic measures (counts, bytes, calls) have the values the code paths imply.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import chart, report
from bench.__main__ import run_all
from bench.config import BenchConfig
from bench.measure import Progress
from bench.results import COLUMNS, Row, cells, markdown_table, text_table
from bench.templates import (
    IAM_ROLE_INLINE_POLICY_LIMIT,
    policy_characters,
    pools_at_policy_limit,
    resolve,
    stand_in_arn,
)
from bench.wait_latency import WaitResult, crhelper_floor, provider_floor


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Row], Path, str]:
    workdir = tmp_path_factory.mktemp("bench")
    progress_log = workdir / "progress.txt"
    with progress_log.open("w") as stream:
        rows, _skipped = run_all(BenchConfig.smoke(workdir), Progress(stream=stream), workdir / "chart.png")
    assert (workdir / "scale.png").read_bytes().startswith(b"\x89PNG")
    return rows, workdir, progress_log.read_text()


@pytest.mark.timeout(180)
def test_every_case_yields_well_formed_rows(smoke_run: tuple[list[Row], Path, str]) -> None:
    rows, _, progress = smoke_run
    assert {row.case for row in rows} == {"cold start", "wait", "api calls", "footprint", "synth", "scale"}
    for row in rows:
        assert len(cells(row)) == len(COLUMNS)
        assert row.ours, row
        if row.target:
            assert row.met is not None, row
    # One progress line per measured case: the synth runs, two cold starts, one wait, the steps.
    assert progress.count("] synth ") == 4
    assert progress.count("] cold start ") == 2
    assert progress.count("] wait ") == 1
    # Scale at N=1 and 2: ours deploys, updates and destroys; the naive peer deploys.
    assert progress.count("] scale ") == 8


@pytest.mark.timeout(180)
def test_deterministic_measures_follow_the_code_paths(smoke_run: tuple[list[Row], Path, str]) -> None:
    rows, _, _ = smoke_run
    by_measure = {(row.case, row.measure): row for row in rows}
    no_op = by_measure[("api calls", "no-op update")]
    assert "(0 mutating)" in no_op.ours
    # Under the rate limits every one of our pools succeeds, at each N.
    for pools in (1, 2):
        failed = by_measure[("scale", f"N={pools}: pools FAILED (deploy, update, destroy)")]
        assert (failed.ours, failed.met) == (f"0 of {pools}", True)
    functions = by_measure[("synth", "Lambda functions, N=1/2")]
    assert functions.ours == "1 / 1"
    assert functions.theirs == "native L1 0 / 0"


@pytest.mark.timeout(180)
def test_readme_embeds_table_and_chart(smoke_run: tuple[list[Row], Path, str]) -> None:
    rows, workdir, _ = smoke_run
    chart_path = workdir / "chart.png"
    assert chart_path.read_bytes().startswith(b"\x89PNG")
    text = report.render(rows, chart_path, {"cdklabs": "not installed"}, 12.0)
    assert markdown_table(rows) in text
    assert "![Wait latency against D](chart.png)" in text
    assert "- cdklabs: not installed" in text
    for row in rows:
        if row.met is False:
            assert f"**{row.case}: {row.measure}**" in text


def test_text_table_aligns_columns() -> None:
    rows = [Row("c", "m", "1 s", "peer", "2 s", "0.50x", "<= 1x", True)]
    header, rule, line = text_table(rows).splitlines()
    assert header.index("Measure") == line.index("m ")
    assert set(rule.replace("  ", "")) == {"-"}


def test_policy_characters_resolve_intrinsics_and_drop_whitespace() -> None:
    document = {
        "Statement": [
            {
                "Action": "logs:PutLogEvents",
                "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs:*"]]},
            },
            {"Action": "chime:Get", "Resource": {"Fn::GetAtt": ["Group1", "Arn"]}},
        ]
    }
    resolved = resolve(document)
    assert resolved["Statement"][0]["Resource"] == "arn:aws:logs:*"
    assert resolved["Statement"][1]["Resource"] == stand_in_arn("Group1")
    expected = (
        '{"Statement":[{"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*"},'
        f'{{"Action":"chime:Get","Resource":"{stand_in_arn("Group1")}"}}]}}'
    )
    assert policy_characters(document) == len(expected)


def test_policy_limit_crossing_is_extrapolated_from_the_growth() -> None:
    assert pools_at_policy_limit({1: 600, 10: 600, 100: 600}) is None
    # 40 + 200 N passes 10,240 first at N = 52 (40 + 200 * 51 = 10,240 is still allowed).
    assert pools_at_policy_limit({1: 240, 10: 2_040, 100: 20_040}) == 52
    assert pools_at_policy_limit({1: IAM_ROLE_INLINE_POLICY_LIMIT + 1}) == 1


def test_polling_floors() -> None:
    assert crhelper_floor(0) == (60.0, 1)
    assert crhelper_floor(30) == (30.0, 1)
    assert provider_floor(0) == (0.0, 1)
    assert provider_floor(2) == (3.0, 2)
    assert provider_floor(30) == (0.0, 7)


def test_chart_draws_a_png(tmp_path: Path) -> None:
    path = tmp_path / "wait.png"
    chart.draw([WaitResult(0, 0.3, 1, 1), WaitResult(2, 0.5, 4, 1)], path)
    assert path.read_bytes().startswith(b"\x89PNG")
