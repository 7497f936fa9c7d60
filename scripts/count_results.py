"""Adds up Jest's JSON report and pytest's JUnit XML reports into "passed failed skipped".

usage: count_results.py JEST_JSON PYTEST_XML [PYTEST_XML...]

A report that is missing or unreadable counts as one failure, so a runner that crashed before
writing it can never look like a clean run.
"""

import json
import sys
import xml.etree.ElementTree as ET


def jest_counts(path: str) -> tuple[int, int, int]:
    try:
        with open(path, encoding="utf-8") as report:
            data = json.load(report)
    except (OSError, ValueError):
        return 0, 1, 0
    failed = data["numFailedTests"] + data.get("numRuntimeErrorTestSuites", 0)
    skipped = data["numPendingTests"] + data.get("numTodoTests", 0)
    return data["numPassedTests"], failed, skipped


def pytest_counts(path: str) -> tuple[int, int, int]:
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - our own pytest report, not untrusted input
    except (OSError, ET.ParseError):
        return 0, 1, 0
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


def main() -> None:
    reports = [jest_counts(sys.argv[1]), *(pytest_counts(path) for path in sys.argv[2:])]
    print(*(sum(column) for column in zip(*reports, strict=True)))


if __name__ == "__main__":
    main()
