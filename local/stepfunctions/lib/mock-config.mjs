// AWS Step Functions Local's mock configuration (the file SFN_MOCK_CONFIG names): per state
// machine, test cases that answer chosen Task states with mocked responses instead of calling the
// service, chosen by attempt number. The format is SFN Local's, so one file serves both.
// https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
//
//   {"StateMachines": {"<machine>": {"TestCases": {"<case>": {"<Task state>": "<response>"}}}},
//    "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error", "Cause"}}}}}
import { allStates, LAMBDA_INVOKE, readJson, SetupError } from './definition.mjs';
import { InvocationError } from './runtime-api.mjs';

// "3" or "1-2" (inclusive), without leading zeros.
const ATTEMPT_KEY = /^(0|[1-9]\d*)(?:-(0|[1-9]\d*))?$/;

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const quoted = (name) => JSON.stringify(name);

/**
 * An error that ends the execution the way States.Runtime does: the interpreter reads these two
 * flags, so neither Retry nor Catch (not even States.ALL) sees it.
 */
export class UncatchableError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
    this.isRetryable = false;
    this.isCatchable = false;
  }
}

/**
 * A test case reached a Task state that it does not mock and that cannot run here (no --binary
 * for its function, no --endpoint for sns:publish). The runner reports it as a setup error.
 */
export class UnrunnableStateError extends UncatchableError {
  constructor(message) {
    super('States.Runtime', message);
  }
}

/** One entry of MockedResponses: what each attempt gets. */
export class MockedResponse {
  /** @param {string} name @param {{from: number, to: number, response: object}[]} ranges sorted, contiguous from 0 */
  constructor(name, ranges) {
    this.name = name;
    this.ranges = ranges;
  }

  /** `{Return: value}` or `{Throw: {Error, Cause}}` for attempt `attempt` (0 = the first), or undefined. */
  at(attempt) {
    return this.ranges.find((r) => r.from <= attempt && attempt <= r.to)?.response;
  }

  /** How many attempts it answers. */
  get attempts() {
    return this.ranges.length === 0 ? 0 : this.ranges.at(-1).to + 1;
  }

  /** "0-3, 4", as the keys were written. */
  describeAttempts() {
    return this.ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(', ');
  }
}

/**
 * The attempt ranges of one mocked response, checked; problems are pushed to `problems`.
 * Stricter than SFN Local in one way: the attempts must run from 0 without gaps, because a gap
 * only fails the execution (States.Runtime) when a run gets there.
 */
function parseMockedResponse(name, value, problems) {
  const where = `MockedResponses.${name}`;
  if (!isObject(value) || Object.keys(value).length === 0) {
    problems.push(`${where}: must be an object of attempt numbers ("0", "1-2") to {"Return": ...} or {"Throw": ...}`);
    return null;
  }
  const ranges = [];
  for (const [key, response] of Object.entries(value)) {
    const match = ATTEMPT_KEY.exec(key);
    if (!match) {
      problems.push(`${where}: attempt key ${quoted(key)} is not an attempt number ("3") or an inclusive range ("1-2")`);
      continue;
    }
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from > to) {
      problems.push(`${where}: attempt range ${quoted(key)} runs backwards`);
      continue;
    }
    const kinds = isObject(response) ? Object.keys(response) : [];
    if (kinds.length !== 1 || !['Return', 'Throw'].includes(kinds[0])) {
      problems.push(`${where}.${key}: must have exactly one field, Return or Throw`);
    } else if (kinds[0] === 'Throw') {
      const { Error: error, Cause: cause } = isObject(response.Throw) ? response.Throw : {};
      const extra = isObject(response.Throw) ? Object.keys(response.Throw).filter((k) => !['Error', 'Cause'].includes(k)) : [];
      if (typeof error !== 'string' || error === '' || typeof cause !== 'string' || extra.length > 0) {
        problems.push(`${where}.${key}.Throw: must be {"Error": "<error name>", "Cause": "<text>"}`);
      }
    }
    ranges.push({ from, to, response, key });
  }
  ranges.sort((a, b) => a.from - b.from);
  let next = 0;
  for (const range of ranges) {
    if (range.from < next) problems.push(`${where}: attempt ${quoted(range.key)} overlaps an earlier key`);
    else if (range.from > next) problems.push(`${where}: no response for attempt ${next} (attempts must run from 0 without gaps)`);
    next = Math.max(next, range.to + 1);
  }
  return new MockedResponse(name, ranges.map(({ from, to, response }) => ({ from, to, response })));
}

/**
 * The file's structure, checked without the definition: returns
 * `{ machines: {name: {case: {state: responseName}}}, responses: Map<name, MockedResponse> }`,
 * or throws a SetupError listing every problem.
 */
export function parseMockConfig(config, file) {
  const problems = [];
  const machines = {};
  const responses = new Map();
  if (!isObject(config)) throw new SetupError(`mock config ${file}: must be a JSON object with StateMachines and MockedResponses`);
  const unknown = Object.keys(config).filter((key) => !['StateMachines', 'MockedResponses'].includes(key));
  if (unknown.length > 0) problems.push(`unknown top-level field(s) ${unknown.join(', ')} (only StateMachines and MockedResponses)`);
  if (!isObject(config.MockedResponses)) problems.push('MockedResponses: must be an object of mocked responses');
  for (const [name, value] of Object.entries(isObject(config.MockedResponses) ? config.MockedResponses : {})) {
    const parsed = parseMockedResponse(name, value, problems);
    if (parsed) responses.set(name, parsed);
  }

  if (!isObject(config.StateMachines) || Object.keys(config.StateMachines).length === 0) {
    problems.push('StateMachines: must name at least one state machine');
  }
  for (const [machine, value] of Object.entries(isObject(config.StateMachines) ? config.StateMachines : {})) {
    const where = `StateMachines.${machine}`;
    if (!isObject(value) || !isObject(value.TestCases) || Object.keys(value).length !== 1) {
      problems.push(`${where}: must be {"TestCases": {"<test case>": {"<state>": "<mocked response>"}}}`);
      continue;
    }
    machines[machine] = {};
    for (const [testCase, states] of Object.entries(value.TestCases)) {
      if (!isObject(states)) {
        problems.push(`${where}.TestCases.${testCase}: must map state names to mocked response names`);
        continue;
      }
      for (const [state, response] of Object.entries(states)) {
        if (typeof response !== 'string') {
          problems.push(`test case ${testCase}: state ${state}: the mocked response must be named by a string`);
        } else if (!Object.hasOwn(config.MockedResponses ?? {}, response)) {
          problems.push(
            `test case ${testCase}: state ${state} names mocked response ${quoted(response)}, which MockedResponses does not define`,
          );
        }
      }
      machines[machine][testCase] = states;
    }
  }
  if (problems.length > 0) {
    throw new SetupError(`mock config ${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return { machines, responses };
}

/** Reads and checks a mock config file (see parseMockConfig). */
export function loadMockConfig(file) {
  return parseMockConfig(readJson(file, 'mock config'), file);
}

/** Whether a Return suits a lambda:invoke Task, whose ResultSelector/OutputPath read `$.Payload`. */
const looksLikeInvokeResult = (value) => isObject(value) && Object.hasOwn(value, 'Payload') && Object.hasOwn(value, 'StatusCode');

/**
 * The test case `testCase` of state machine `machine` (the file's only one when not given), as
 * `{ machine, testCase, file, mocks: Map<state, MockedResponse> }`. Every test case of that
 * machine is checked against the (substituted) definition: each mocked state must be a Task state
 * of it, and a lambda:invoke state must return `{StatusCode, Payload}` as the integration does.
 */
export function selectTestCase(parsed, definition, { file, machine, testCase }) {
  const names = Object.keys(parsed.machines);
  if (machine === undefined) {
    if (names.length !== 1) {
      throw new SetupError(`mock config ${file} defines state machines ${names.join(', ')}: choose one with --state-machine-name`);
    }
    machine = names[0];
  } else if (!Object.hasOwn(parsed.machines, machine)) {
    throw new SetupError(`mock config ${file} has no state machine ${quoted(machine)} (it has: ${names.join(', ')})`);
  }
  const cases = parsed.machines[machine];
  if (!Object.hasOwn(cases, testCase)) {
    const known = Object.keys(cases).join(', ') || 'none';
    throw new SetupError(`mock config ${file}: state machine ${machine} has no test case ${quoted(testCase)} (its test cases: ${known})`);
  }

  const states = new Map(allStates(definition));
  const problems = [];
  for (const [name, mocked] of Object.entries(cases)) {
    for (const [state, response] of Object.entries(mocked)) {
      const definitionState = states.get(state);
      if (!definitionState) {
        problems.push(`test case ${name} mocks state ${state}, but the definition has no state of that name`);
      } else if (definitionState.Type !== 'Task') {
        problems.push(`test case ${name} mocks state ${state}, a ${definitionState.Type} state: only Task states can be mocked`);
      } else if (definitionState.Resource === LAMBDA_INVOKE) {
        for (const { from, to, response: answer } of parsed.responses.get(response).ranges) {
          if ('Return' in answer && !looksLikeInvokeResult(answer.Return)) {
            const key = from === to ? `${from}` : `${from}-${to}`;
            problems.push(
              `test case ${name}: state ${state} is a lambda:invoke Task, so MockedResponses.${response}.${key}.Return ` +
                'must be what that integration returns: {"StatusCode": 200, "Payload": <the function\'s result>}',
            );
          }
        }
      }
    }
  }
  if (problems.length > 0) {
    throw new SetupError(`mock config ${file} does not fit the definition:\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}`);
  }
  const mocks = new Map(Object.entries(cases[testCase]).map(([state, response]) => [state, parsed.responses.get(response)]));
  return { machine, testCase, file, mocks };
}

/**
 * The local handler of a mocked Task state. Like SFN Local, it keeps one attempt counter per
 * state for the whole execution: every invocation (a retry, a later visit of the state) takes
 * the next attempt. A Throw fails the state with its Error and Cause, through the state's Retry
 * and Catch; an attempt the mocked response does not cover fails the execution with
 * States.Runtime, as SFN Local does.
 */
export function mockedTask(state, mocked, { testCase }) {
  let attempt = 0;
  return async () => {
    const current = attempt++;
    const answer = mocked.at(current);
    if (answer === undefined) {
      throw new UncatchableError(
        'States.Runtime',
        `test case ${testCase}: state ${state} has no mocked response for attempt ${current} ` +
          `(mocked response ${mocked.name} answers attempts ${mocked.describeAttempts()})`,
      );
    }
    if ('Throw' in answer) throw new InvocationError(answer.Throw.Error, answer.Throw.Cause);
    // A copy: the interpreter must never change the file's value for a later attempt.
    return structuredClone(answer.Return);
  };
}
