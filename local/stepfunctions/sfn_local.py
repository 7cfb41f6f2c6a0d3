"""Runs the mock test cases of a state machine in AWS Step Functions Local (scripts/sfn-local).

Creates the state machine in the Step Functions Local at --endpoint (or updates it when it
exists), its definition's ${...} placeholders replaced by dummy Lambda ARNs as
local/stepfunctions/run.mjs does with statemachine/functions.json; starts
`<stateMachineArn>#<test case>` for each case of the cases file, with that case's input; waits for
every execution; and compares each outcome with the case's expectation by the rules of
local/stepfunctions/lib/cases.mjs (keep the two in step).

Step Functions Local must have been started with the mock config (SFN_MOCK_CONFIG) whose test
cases these are; --mock-config only lets this script check the case names before it starts.

  sfn_local.py --endpoint URL [--definition FILE] [--functions FILE] [--mock-config FILE]
               [--cases FILE] [--case NAME]... [--timeout SECONDS] [--wait-for-endpoint SECONDS]

Exit status: 0 every case ended as expected, 1 some did not, 2 usage or setup error (a file,
the endpoint not answering, the state machine refused).
"""
import argparse
import json
import re
import sys
import time
import uuid
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions

ROOT = Path(__file__).resolve().parents[2]
STATEMACHINE = ROOT / "statemachine"
# The account and region run.mjs uses in the ARNs it makes up.
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/rds-refresh-local"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class SetupError(Exception):
    """A problem with the files or the endpoint: exit status 2."""


def read_json(path, what):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise SetupError(f"cannot read {what} {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise SetupError(f"{what} {path} is not valid JSON: {error}") from None


def substitute(text, functions):
    """Each ${Name} becomes the ARN of the function functions[Name], like SAM's DefinitionSubstitutions."""
    unknown = sorted({name for name in PLACEHOLDER.findall(text) if name not in functions})
    if unknown:
        names = ", ".join("${" + name + "}" for name in unknown)
        raise SetupError(f"unknown placeholder(s) {names}: not in the functions file")
    return PLACEHOLDER.sub(lambda m: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{functions[m.group(1)]}", text)


# -- the comparison, as lib/cases.mjs makes it -------------------------------------------------


def show(value):
    """A value as JSON.stringify writes it, for messages that read as the node test's do."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def equal(a, b):
    # bool is an int in Python; JSON true is not 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return a == b


def contains_mismatches(actual, expected, path="$"):
    """Objects must have each member expected gives (recursively); arrays and other values are equal."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {show(actual)}"]
        mismatches = []
        for key, value in expected.items():
            if key in actual:
                mismatches += contains_mismatches(actual[key], value, f"{path}.{key}")
            else:
                mismatches.append(f"{path}.{key}: missing")
        return mismatches
    return [] if equal(actual, expected) else [f"{path}: expected {show(expected)}, got {show(actual)}"]


def outcome_mismatches(expect, outcome):
    if outcome["status"] != expect["status"]:
        if outcome["status"] == "SUCCEEDED":
            detail = f"output {show(outcome.get('output'))}"
        else:
            detail = f"{outcome.get('error')}: {outcome.get('cause')}"
        return [f"status: expected {expect['status']}, got {outcome['status']} ({detail})"]
    if expect["status"] == "SUCCEEDED":
        if "output" not in expect:
            return []
        return [f"output {m}" for m in contains_mismatches(outcome.get("output"), expect["output"])]
    mismatches = []
    if outcome.get("error") != expect["error"]:
        mismatches.append(f"error: expected {expect['error']}, got {outcome.get('error')}")
    if "cause" in expect and not re.search(expect["cause"], outcome.get("cause") or ""):
        mismatches.append(f"cause: expected to match /{expect['cause']}/, got {show(outcome.get('cause'))}")
    return mismatches


# -- Step Functions Local ----------------------------------------------------------------------


def client_for(endpoint):
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name=REGION,
        # Step Functions Local checks no signature.
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2}),
    )


def wait_for_endpoint(client, endpoint, seconds):
    """Step Functions Local takes a few seconds to start in its container."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.list_state_machines(maxResults=1)
            return
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError) as error:
            if time.monotonic() >= deadline:
                raise SetupError(f"no answer from Step Functions Local at {endpoint} within {seconds:g} s: {error}") from None
            time.sleep(0.5)


def create_state_machine(client, name, definition):
    """The state machine's ARN, created, or updated to this definition when it exists already."""
    try:
        return client.create_state_machine(name=name, definition=definition, roleArn=ROLE_ARN)["stateMachineArn"]
    except client.exceptions.StateMachineAlreadyExists:
        pass
    except (client.exceptions.InvalidDefinition, client.exceptions.InvalidName) as error:
        raise SetupError(f"Step Functions Local refused the state machine {name}: {error}") from None
    for page in client.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                client.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=definition, roleArn=ROLE_ARN)
                return machine["stateMachineArn"]
    raise SetupError(f"state machine {name} exists, says Step Functions Local, but is not in its list")


def outcome_of(description):
    status = description["status"]
    if status == "SUCCEEDED":
        return {"status": status, "output": json.loads(description.get("output") or "null")}
    return {"status": status, "error": description.get("error"), "cause": description.get("cause")}


def run_cases(client, machine_arn, cases, timeout):
    """Starts every case at once (SFN Local keeps the real Retry intervals), then waits for all.
    Returns {case: outcome}."""
    executions = {}
    for name, case in cases.items():
        started = client.start_execution(
            stateMachineArn=f"{machine_arn}#{name}",
            name=f"{name[:50]}-{uuid.uuid4().hex[:12]}",
            input=json.dumps(case["input"]),
        )
        executions[name] = started["executionArn"]
    outcomes = {}
    deadline = time.monotonic() + timeout
    while len(outcomes) < len(executions):
        for name, arn in executions.items():
            if name in outcomes:
                continue
            description = client.describe_execution(executionArn=arn)
            if description["status"] != "RUNNING":
                outcomes[name] = outcome_of(description)
                print(f"  {name}: {description['status']}", file=sys.stderr)
        if len(outcomes) < len(executions):
            if time.monotonic() >= deadline:
                for name, arn in executions.items():
                    if name not in outcomes:
                        cause = f"not done after {timeout:g} s (--timeout)"
                        try:
                            client.stop_execution(executionArn=arn, error="sfn-local.Timeout", cause=cause)
                        except botocore.exceptions.ClientError:
                            pass  # it may have ended meanwhile; it is reported as not done either way
                        outcomes[name] = {"status": "RUNNING", "error": "sfn-local.Timeout", "cause": cause}
                break
            time.sleep(0.5)
    return outcomes


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="Step Functions Local, e.g. http://127.0.0.1:8083")
    parser.add_argument("--definition", default=STATEMACHINE / "refresh.asl.json")
    parser.add_argument("--functions", default=STATEMACHINE / "functions.json")
    parser.add_argument("--mock-config", default=STATEMACHINE / "refresh.mock.json")
    parser.add_argument("--cases", default=STATEMACHINE / "refresh.mock-cases.json")
    parser.add_argument("--case", action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for all executions (default 900)")
    parser.add_argument("--wait-for-endpoint", type=float, default=60, help="seconds to wait for the endpoint to answer")
    args = parser.parse_args(argv)
    if not re.match(r"^https?://[^/]", args.endpoint):
        parser.error("--endpoint must be an http:// or https:// URL")
    return args


def main(argv):
    args = parse_args(argv)
    cases_file = read_json(args.cases, "cases file")
    machine = cases_file.get("stateMachine") or "rds-refresh"
    cases = cases_file.get("cases") or {}
    unknown = [name for name in args.case if name not in cases]
    if unknown:
        raise SetupError(f"no case {', '.join(unknown)} in {args.cases} (its cases: {', '.join(cases)})")
    if args.case:
        cases = {name: cases[name] for name in args.case}
    # Checked here: SFN Local's own answer to an unknown test case says less.
    test_cases = read_json(args.mock_config, "mock config").get("StateMachines", {}).get(machine, {}).get("TestCases", {})
    missing = [name for name in cases if name not in test_cases]
    if missing:
        raise SetupError(f"{args.mock_config} has no test case {', '.join(missing)} of state machine {machine}")

    functions = read_json(args.functions, "functions file")
    try:
        definition = substitute(Path(args.definition).read_text(encoding="utf-8"), functions)
    except OSError as error:
        raise SetupError(f"cannot read definition {args.definition}: {error.strerror or error}") from None

    client = client_for(args.endpoint)
    wait_for_endpoint(client, args.endpoint, args.wait_for_endpoint)
    machine_arn = create_state_machine(client, machine, definition)
    print(f"sfn-local: running {len(cases)} case(s) of {machine_arn} at {args.endpoint}", file=sys.stderr)
    outcomes = run_cases(client, machine_arn, cases, args.timeout)

    failed = 0
    for name, case in cases.items():
        mismatches = outcome_mismatches(case["expect"], outcomes[name])
        if mismatches:
            failed += 1
            print(f"✗ {name}")
            for mismatch in mismatches:
                print(f"    {mismatch}")
        else:
            print(f"✓ {name}")
    print(f"sfn-local: {len(cases) - failed} of {len(cases)} case(s) ended as expected", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SetupError as error:
        print(f"sfn_local.py: {error}", file=sys.stderr)
        sys.exit(2)
    except botocore.exceptions.ClientError as error:
        print(f"sfn_local.py: Step Functions Local answered an error: {error}", file=sys.stderr)
        sys.exit(2)
    except botocore.exceptions.BotoCoreError as error:
        print(f"sfn_local.py: cannot talk to Step Functions Local: {error}", file=sys.stderr)
        sys.exit(2)
