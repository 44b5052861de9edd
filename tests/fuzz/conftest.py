"""A tally of the cases each fuzz test ran, printed in pytest's summary ("fuzz cases")."""

from __future__ import annotations

from collections import Counter

import pytest

CASES = pytest.StashKey[Counter]()


@pytest.fixture(scope="session")
def fuzz_cases(request: pytest.FixtureRequest) -> Counter:
    """Cases run per test: a test adds 1 to its own name for every example it checks."""
    return request.config.stash.setdefault(CASES, Counter())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config):
    counts = config.stash.get(CASES, None)
    if not counts:
        return
    terminalreporter.write_sep("-", f"fuzz cases: {sum(counts.values())}")
    for name, n in counts.items():
        terminalreporter.write_line(f"{n:6d}  {name}")
