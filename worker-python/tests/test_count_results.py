"""The tally behind make test's last line: both suites add up, and a missing report is a failure."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "count_results.py"
_spec = importlib.util.spec_from_file_location("count_results", SCRIPT)
assert _spec and _spec.loader
count_results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(count_results)

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="10" failures="1" errors="1" skipped="2"/></testsuites>
"""


def test_jest_report_counts_failed_suites_as_failures(tmp_path):
    report = tmp_path / "jest.json"
    report.write_text(
        json.dumps(
            {
                "numPassedTests": 7,
                "numFailedTests": 1,
                "numRuntimeErrorTestSuites": 1,
                "numPendingTests": 2,
                "numTodoTests": 1,
            }
        )
    )
    assert count_results.jest_counts(str(report)) == (7, 2, 3)


def test_junit_report_counts_errors_as_failures(tmp_path):
    report = tmp_path / "pytest.xml"
    report.write_text(JUNIT)
    assert count_results.pytest_counts(str(report)) == (6, 2, 2)


def test_a_missing_or_broken_report_is_one_failure(tmp_path):
    broken = tmp_path / "broken"
    broken.write_text("{not json")
    assert count_results.jest_counts(str(tmp_path / "absent.json")) == (0, 1, 0)
    assert count_results.jest_counts(str(broken)) == (0, 1, 0)
    assert count_results.pytest_counts(str(tmp_path / "absent.xml")) == (0, 1, 0)
    assert count_results.pytest_counts(str(broken)) == (0, 1, 0)


def test_every_pytest_report_given_is_added(tmp_path, capsys, monkeypatch):
    jest = tmp_path / "jest.json"
    jest.write_text(
        '{"numPassedTests": 3, "numFailedTests": 0, "numPendingTests": 0}', encoding="utf-8"
    )
    first = tmp_path / "first.xml"
    first.write_text('<testsuite tests="4" failures="1" errors="0" skipped="0"/>', encoding="utf-8")
    second = tmp_path / "second.xml"
    second.write_text(
        '<testsuite tests="5" failures="0" errors="0" skipped="1"/>', encoding="utf-8"
    )
    monkeypatch.setattr(
        "sys.argv", ["count_results.py", str(jest), str(first), str(second), str(tmp_path / "x")]
    )
    count_results.main()
    assert capsys.readouterr().out.split() == ["10", "2", "1"]
