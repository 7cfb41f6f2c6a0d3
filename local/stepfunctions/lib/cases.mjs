// The companion of a mock config (statemachine/refresh.mock-cases.json): each test case's
// execution input and expected outcome, which SFN Local's mock format has no place for.
//
//   {"stateMachine": "<name in the mock config>",
//    "cases": {"<test case>": {"description": "...", "input": {...},
//                              "expect": {"status": "SUCCEEDED", "output": {...}}
//                                      | {"status": "FAILED", "error": "<name>", "cause": "<regex>"}}}}
//
// The node test (test/mock-cases.test.mjs) applies these rules to the local runner's outcomes,
// sfn-local.mjs (scripts/sfn-local) to those of LocalStack or AWS Step Functions Local.
import { readJson, SetupError } from './definition.mjs';

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

const CASE_FIELDS = ['description', 'input', 'expect'];
const EXPECT_FIELDS = { SUCCEEDED: ['status', 'output'], FAILED: ['status', 'error', 'cause'] };

/** Problems with one case's fields, as text. */
function caseProblems(name, value) {
  const problems = [];
  if (!isObject(value)) return [`case ${name}: must be an object with input and expect`];
  const unknown = Object.keys(value).filter((key) => !CASE_FIELDS.includes(key));
  if (unknown.length > 0) problems.push(`case ${name}: unknown field(s) ${unknown.join(', ')} (${CASE_FIELDS.join(', ')})`);
  if (!isObject(value.input)) problems.push(`case ${name}: input must be the execution input, a JSON object`);
  const expect = value.expect;
  const allowed = EXPECT_FIELDS[expect?.status];
  if (!isObject(expect) || !allowed) {
    problems.push(`case ${name}: expect.status must be SUCCEEDED or FAILED`);
    return problems;
  }
  const misplaced = Object.keys(expect).filter((key) => !allowed.includes(key));
  if (misplaced.length > 0) problems.push(`case ${name}: expect.${misplaced.join(', expect.')} cannot go with status ${expect.status}`);
  if (expect.status === 'FAILED') {
    if (typeof expect.error !== 'string' || expect.error === '') problems.push(`case ${name}: a FAILED case names its expect.error`);
    if (expect.cause !== undefined) {
      try {
        new RegExp(expect.cause);
      } catch (error) {
        problems.push(`case ${name}: expect.cause is not a regular expression: ${error.message}`);
      }
    }
  }
  return problems;
}

/** Reads and checks a cases file: `{ stateMachine, cases }`; throws a SetupError naming every problem. */
export function loadCases(file) {
  const content = readJson(file, 'cases file');
  const problems = [];
  if (!isObject(content) || !isObject(content.cases)) {
    throw new SetupError(`cases file ${file}: must be {"stateMachine": ..., "cases": {"<test case>": {input, expect}}}`);
  }
  if (content.stateMachine !== undefined && typeof content.stateMachine !== 'string') {
    problems.push('stateMachine: must be the state machine name of the mock config');
  }
  for (const [name, value] of Object.entries(content.cases)) problems.push(...caseProblems(name, value));
  if (problems.length > 0) throw new SetupError(`cases file ${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { stateMachine: content.stateMachine, cases: content.cases };
}

const show = (value) => JSON.stringify(value);

/**
 * Where `actual` does not contain `expected`, as messages naming the JSONPath: an object must
 * have each member `expected` gives (recursively, so nested objects may leave members out);
 * arrays and other values must be equal.
 */
export function containsMismatches(actual, expected, path = '$') {
  if (isObject(expected)) {
    if (!isObject(actual)) return [`${path}: expected an object, got ${show(actual)}`];
    return Object.entries(expected).flatMap(([key, value]) =>
      Object.hasOwn(actual, key) ? containsMismatches(actual[key], value, `${path}.${key}`) : [`${path}.${key}: missing`],
    );
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return [`${path}: expected ${show(expected)}, got ${show(actual)}`];
    // Elements are compared whole: a list's order and length are part of what it says.
    return expected.some((value, i) => !equal(actual[i], value)) ? [`${path}: expected ${show(expected)}, got ${show(actual)}`] : [];
  }
  return equal(actual, expected) ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
}

function equal(a, b) {
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && equal(a[key], b[key]));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, i) => equal(value, b[i]));
  return a === b;
}

/**
 * How an execution's outcome (`{status, output}` or `{status, error, cause}`) differs from a
 * case's `expect`, as messages; empty when it is as expected.
 */
export function outcomeMismatches(expect, outcome) {
  if (outcome.status !== expect.status) {
    const detail = outcome.status === 'SUCCEEDED' ? `output ${show(outcome.output)}` : `${outcome.error}: ${outcome.cause}`;
    return [`status: expected ${expect.status}, got ${outcome.status} (${detail})`];
  }
  if (expect.status === 'SUCCEEDED') {
    return expect.output === undefined ? [] : containsMismatches(outcome.output, expect.output).map((m) => `output ${m}`);
  }
  const mismatches = [];
  if (outcome.error !== expect.error) mismatches.push(`error: expected ${expect.error}, got ${outcome.error}`);
  if (expect.cause !== undefined && !new RegExp(expect.cause).test(outcome.cause ?? '')) {
    mismatches.push(`cause: expected to match /${expect.cause}/, got ${show(outcome.cause)}`);
  }
  return mismatches;
}
