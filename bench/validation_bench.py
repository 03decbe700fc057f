"""Harness CPU per response: schema validation plus the oracle on a 1000-item ListResult.

    .venv/bin/python bench/validation_bench.py [--repeats 15] [--profile]

The body is 1000 tasks of the reference server's generated universe (the largest response a
conformant server may send). Measured, each as a median over interleaved repeats:

* the validators on the same body: jsonschema as ``Contracts.errors`` calls it (a new
  validator per call), jsonschema with a cached validator, bare jsonschema-rs, fastjsonschema,
  and ``snapconform.fastvalidate`` (jsonschema-rs verdict + jsonschema's format checkers);
  next to each, whether it keeps the contract's verdicts on the rules that trip validators up
  (leap second, a space instead of ``T``, month 13, the x-union rules);
* the oracle's pure parts (status-conditional rules, duplicate ids, unknown properties) and
  the official-bindings decode;
* the ``ResponseAudit`` of the engine judging one such response, as it runs in ``snapconform
  run`` (includes the bindings decode when the bindings are installed).

``--profile`` adds a pyinstrument profile of the audit to the output. Writes
bench/validation_results.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
from collections.abc import Callable
from typing import Any

from benchlib import BENCH_DIR, CPU, interleaved_ms, load, machine, ratio, summary, time_ms

RESULTS = BENCH_DIR / "validation_results.json"
ITEMS = 1000


def list_body(items: int = ITEMS, seed: int = 1) -> dict[str, Any]:
    from snapconform.server.defaults import generate_tasks

    return {"items": generate_tasks(random.Random(seed), items)}


def probes(body: dict[str, Any]) -> dict[str, tuple[Any, bool]]:
    """Bodies that trip validators up, with the contract's verdict (True: valid)."""

    def with_start(value: str) -> dict[str, Any]:
        changed = copy.deepcopy(body)
        item = next(i for i in changed["items"] if i["info"]["status"] == "RUNNING")
        item["info"]["start_time"] = value
        return changed

    pending_with_progress = copy.deepcopy(body)
    item = next(i for i in pending_with_progress["items"] if i["info"]["status"] == "RUNNING")
    item["info"]["status"] = "PENDING"
    return {
        "valid body": (body, True),
        "leap second 23:59:60Z": (with_start("2026-01-01T23:59:60Z"), False),
        "'2026-01-01 10:00:00'": (with_start("2026-01-01 10:00:00"), False),
        "month 13": (with_start("2026-13-01T00:00:00Z"), False),
        "x-union: PENDING with progress": (pending_with_progress, False),
    }


def validators() -> dict[str, Callable[[Any], bool]]:
    """name -> is_valid(body) for ListResult, each built once (except the per-call one)."""
    import fastjsonschema
    import jsonschema_rs

    from snapconform.contracts import default_contracts
    from snapconform.fastvalidate import fast_validator

    contracts = default_contracts()
    every = [*contracts.schemas.values(), *contracts.documents.values()]
    cached = contracts.validator("ListResult")
    rs_bare = jsonschema_rs.validator_for(
        contracts.schema("ListResult"),
        registry=jsonschema_rs.Registry([(s["$id"], s) for s in every]),
        validate_formats=True,
    )
    by_id = {s["$id"]: s for s in every}
    fjs = fastjsonschema.compile(
        contracts.schema("ListResult"), handlers={"https": lambda uri: by_id[uri]}
    )

    def fjs_valid(body: Any) -> bool:
        try:
            fjs(body)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    fast = fast_validator(contracts)
    return {
        "jsonschema, validator per call (Contracts.errors before)": lambda b: (
            not (contracts.exact_errors("ListResult", b))
        ),
        "jsonschema, cached validator (iter_errors)": lambda b: not list(cached.iter_errors(b)),
        "jsonschema-rs is_valid (bare)": rs_bare.is_valid,
        "fastjsonschema": fjs_valid,
        "snapconform.fastvalidate.validate_fast": lambda b: not fast.errors("ListResult", b),
    }


def oracle_parts(body: dict[str, Any], text: str) -> dict[str, Callable[[], object]]:
    from snapconform.contracts import default_contracts
    from snapconform.engine import oracle
    from snapconform.fastvalidate import validate_fast

    contracts = default_contracts()
    items = body["items"]

    def pure_oracle() -> None:
        # as the engine's audit does it: one schema pass judges types and the x-union rules
        oracle.list_contract_violations(body, contracts)
        oracle.duplicate_ids(body)
        oracle.unknown_properties("ListResult", body, contracts)

    parts: dict[str, Callable[[], object]] = {
        "schema (validate_fast)": lambda: validate_fast(contracts, "ListResult", body),
        "status-conditional, every item": lambda: [
            oracle.status_conditional_violations(i["info"], contracts) for i in items
        ],
        "duplicate ids": lambda: oracle.duplicate_ids(body),
        "unknown properties": lambda: oracle.unknown_properties("ListResult", body, contracts),
        "validation + pure oracle": pure_oracle,
    }
    if oracle.bindings_available():
        parts["official bindings decode"] = lambda: oracle.bindings_decode_error(text)
    return parts


def audit_once(text: str) -> Callable[[], object]:
    """One fresh ResponseAudit judging the response (a fresh one: it skips repeats)."""
    import httpx

    from snapconform.contracts import default_contracts
    from snapconform.engine.audit import ResponseAudit
    from snapconform.engine.target import TASKS_PATH, Response

    contracts = default_contracts()
    headers = httpx.Headers({"content-type": "application/json"})

    def run() -> None:
        response = Response(
            status=200,
            headers=headers,
            text=text,
            body=json.loads(text),
            json_error=None,
            method="GET",
            path=TASKS_PATH,
            query="",
            auth="basic",
        )
        ResponseAudit(repro=lambda r: "", contracts=contracts)(response)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of the audit")
    args = parser.parse_args(argv)

    load_before = load()
    body = list_body()
    text = json.dumps(body)
    checkers = validators()
    verdicts = {
        name: {
            probe: check(candidate) == expected
            for probe, (candidate, expected) in probes(body).items()
        }
        for name, check in checkers.items()
    }
    calls = {n: (lambda c=c: c(body)) for n, c in checkers.items()}
    timings = interleaved_ms(calls, args.repeats)
    cpu_timings = interleaved_ms(calls, args.repeats, clock=CPU)
    validator_rows = {
        name: {
            **summary(samples),
            "cpu_median": summary(cpu_timings[name])["median"],
            "keeps_contract_verdicts": all(verdicts[name].values()),
        }
        for name, samples in timings.items()
    }
    invalid = probes(body)["x-union: PENDING with progress"][0]
    from snapconform.fastvalidate import validate_fast

    invalid_ms = summary(time_ms(lambda: validate_fast(None, "ListResult", invalid), 5))
    part_calls = oracle_parts(body, text)
    part_cpu = interleaved_ms(part_calls, args.repeats, clock=CPU)
    parts = {
        name: {**summary(samples), "cpu_median": summary(part_cpu[name])["median"]}
        for name, samples in interleaved_ms(part_calls, args.repeats).items()
    }
    audit = {
        **summary(time_ms(audit_once(text), args.repeats)),
        "cpu_median": summary(time_ms(audit_once(text), args.repeats, clock=CPU))["median"],
    }
    baseline = validator_rows["jsonschema, validator per call (Contracts.errors before)"]["median"]
    fast = validator_rows["snapconform.fastvalidate.validate_fast"]["median"]
    results: dict[str, Any] = {
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
        "items": ITEMS,
        "body_bytes": len(text.encode()),
        "validators_ms": validator_rows,
        "verdicts": verdicts,
        "speedup_validate_fast_vs_contracts_errors": ratio(baseline, fast),
        "validate_fast_invalid_body_ms": invalid_ms,
        "oracle_ms": parts,
        "response_audit_ms": audit,
        "goal_ms": 10.0,
        # "harness CPU per response": judged on CPU time (wall is inflated by the shared load)
        "validation_plus_pure_oracle_meets_goal": parts["validation + pure oracle"]["cpu_median"]
        <= 10.0,
    }
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        run = audit_once(text)
        profiler.start()
        for _ in range(3):
            run()
        profiler.stop()
        results["audit_profile"] = profiler.output_text(unicode=False, color=False)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    width = max(len(n) for n in [*validator_rows, *parts])
    print(f"1000-item ListResult ({results['body_bytes']} bytes), medians in ms (wall / CPU)")
    for name, row in validator_rows.items():
        keeps = "keeps verdicts" if row["keeps_contract_verdicts"] else "DIFFERENT verdicts"
        print(f"  {name:<{width}} {row['median']:9.2f} {row['cpu_median']:9.2f}  {keeps}")
    for name, row in parts.items():
        print(f"  {name:<{width}} {row['median']:9.2f} {row['cpu_median']:9.2f}")
    audit_name = "ResponseAudit (engine, as shipped)"
    print(f"  {audit_name:<{width}} {audit['median']:9.2f} {audit['cpu_median']:9.2f}")
    print(f"  {'validate_fast, invalid body':<{width}} {invalid_ms['median']:9.2f}")
    if args.profile:
        print(results["audit_profile"])
    print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
