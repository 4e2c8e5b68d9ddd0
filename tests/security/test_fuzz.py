"""API fuzzing with schemathesis against the served app's own /openapi.json: valid and invalid
requests for every operation, with and without a valid key. Bad input must get a 4xx JSON
error, never a 5xx, and the server must stay up.

The default run sends about 12 cases per operation; `-m slow` sends over 1,000 in all.
"""

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

INTERNAL_KEY = "Bearer emp-secret"
FAST_CASES_PER_OPERATION = 6  # per generation mode
SLOW_CASES_PER_OPERATION = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class FuzzRun:
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def fuzz(url: str, *, cases_per_operation: int) -> FuzzRun:
    """Runs every operation in the positive and the negative generation mode."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    run = FuzzRun()
    results = list(schema.get_all_operations())
    invalid = [str(result.err()) for result in results if isinstance(result, Err)]
    assert not invalid, f"our OpenAPI document has invalid operations: {invalid}"
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 8
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            _fuzz_operation(
                url, operation.as_strategy(generation_mode=mode), cases_per_operation, run
            )
    return run


def _fuzz_operation(url: str, strategy: st.SearchStrategy[Any], count: int, run: FuzzRun) -> None:
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: schemathesis.Case) -> None:
        # No generated key: send an employee's, so routes behind auth are reached too.
        headers = {} if _has_authorization(case) else {"Authorization": INTERNAL_KEY}
        run.cases += 1
        try:
            response = case.call(base_url=url, headers=headers, timeout=120)
        except Exception as exc:  # a dropped connection is a crash
            run.failures.append(f"{case.operation.label}: {exc!r}")
            return
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis groups its failures
            run.failures.append(f"{case.operation.label} -> {response.status_code}: {_short(exc)}")

    with suppress(Unsatisfiable):  # nothing to negate: an operation without parameters or body
        one()


def _has_authorization(case: schemathesis.Case) -> bool:
    return any(name.lower() == "authorization" for name in (case.headers or {}))


def assert_clean(run: FuzzRun, url: str, *, at_least: int) -> None:
    assert run.cases >= at_least, run
    assert not run.failures, f"{len(run.failures)} failures:\n" + "\n\n".join(
        dict.fromkeys(run.failures[:40])
    )
    assert not any(status >= 500 for status in run.statuses), run.statuses
    assert any(400 <= status < 500 for status in run.statuses), "no invalid case was refused"
    assert httpx.get(f"{url}/healthz").status_code == 200  # still up


def test_fuzzed_requests_never_get_a_5xx(isolation_url: str) -> None:
    run = fuzz(isolation_url, cases_per_operation=FAST_CASES_PER_OPERATION)
    assert_clean(run, isolation_url, at_least=80)


@pytest.mark.slow
def test_over_a_thousand_fuzzed_requests_never_get_a_5xx(isolation_url: str) -> None:
    run = fuzz(isolation_url, cases_per_operation=SLOW_CASES_PER_OPERATION)
    assert_clean(run, isolation_url, at_least=1000)


def _short(exc: BaseException) -> str:
    """The failure's title and the curl line that reproduces it."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    keep = [line for line in lines if line.startswith(("- ", "curl", "`"))]
    return " | ".join(keep) or lines[0]
