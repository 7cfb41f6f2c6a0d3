// Runs the mock test cases of a state machine in a Step Functions that reads AWS Step Functions
// Local's mock file (scripts/sfn-local: LocalStack in host mode, or the Docker image
// amazon/aws-stepfunctions-local), and compares each outcome with the case's expectation.
//
// Creates the state machine at --endpoint under the mock file's name for it (or updates it when it
// exists), its definition's ${...} placeholders replaced by dummy Lambda ARNs as run.mjs does with
// statemachine/functions.json (lib/definition.mjs); starts `<stateMachineArn>#<test case>` for
// each case of the cases file at once, with that case's input; polls DescribeExecution until every
// execution has ended; and compares each outcome with the case's expectation (lib/cases.mjs, the
// rules the node test applies to the local runner's outcomes).
//
// The Step Functions at --endpoint must have been started with the mock file (SFN_MOCK_CONFIG)
// whose test cases these are; --mock-config only lets this client check the names before it starts.
//
// It speaks the Step Functions API's AWS JSON 1.0 protocol with fetch. Nothing checks the
// signature, but LocalStack reads the region and account from the Authorization header, so each
// request carries a well-formed SigV4 header (dummy credentials and signature) and X-Amz-Date.
//
// Exit status: 0 every case ended as expected, 1 some did not (a case still running at --timeout
// included), 2 usage or setup error (a file, the endpoint not answering, the state machine
// refused), 130/143 interrupted (the executions still running are stopped first).
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadCases, outcomeMismatches } from './lib/cases.mjs';
import { ACCOUNT, loadDefinition, parseCommandLine, parseSubstitutions, REGION, SetupError, UsageError } from './lib/definition.mjs';
import { loadMockConfig } from './lib/mock-config.mjs';

const STATEMACHINE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'statemachine');
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/rds-refresh-local`;
const POLL_MS = 500;
const REQUEST_TIMEOUT_MS = 60000;

const USAGE = `usage: sfn-local.mjs --endpoint URL [--definition FILE] [--functions FILE] [--substitution NAME=VALUE]...
                     [--mock-config FILE] [--cases FILE] [--case NAME]... [--timeout SECONDS]
                     [--wait-for-endpoint SECONDS]`;

const OPTIONS = {
  endpoint: { type: 'string' },
  definition: { type: 'string', default: path.join(STATEMACHINE, 'refresh.asl.json') },
  functions: { type: 'string', default: path.join(STATEMACHINE, 'functions.json') },
  substitution: { type: 'string', multiple: true, default: [] },
  'mock-config': { type: 'string', default: path.join(STATEMACHINE, 'refresh.mock.json') },
  cases: { type: 'string', default: path.join(STATEMACHINE, 'refresh.mock-cases.json') },
  case: { type: 'string', multiple: true, default: [] },
  // Real pauses: the slowest case (DeletionProtectionStaysOn) takes ~65 minutes.
  timeout: { type: 'string', default: '5400' },
  'wait-for-endpoint': { type: 'string', default: '60' },
  help: { type: 'boolean', short: 'h', default: false },
};

const say = (line) => process.stderr.write(line + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function seconds(values, flag) {
  const value = /^(\d+\.?\d*|\.\d+)$/.test(values[flag]) ? Number(values[flag]) : NaN;
  if (!(value > 0)) throw new UsageError(`--${flag} must be a positive number of seconds`);
  return value;
}

function parseOptions(argv) {
  const values = parseCommandLine(argv, OPTIONS);
  if (values.help) return values;
  if (values.endpoint === undefined) throw new UsageError('--endpoint is required');
  if (!/^https?:\/\/[^/]/.test(values.endpoint)) throw new UsageError('--endpoint must be an http:// or https:// URL');
  values.timeoutSeconds = seconds(values, 'timeout');
  values.waitSeconds = seconds(values, 'wait-for-endpoint');
  return values;
}

/** A Step Functions API error answer: `code` is its __type without the namespace. */
class ApiError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** The endpoint did not answer at all (connection refused, reset, timed out). */
class Unreachable extends Error {}

/**
 * One call of the Step Functions API at `endpoint` (AWS JSON 1.0): the parsed answer, or an
 * ApiError, or Unreachable. The Authorization header is a well-formed SigV4 one with dummy
 * credentials: the region and service are read from its credential scope; no one checks the
 * signature.
 */
async function call(endpoint, action, body) {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20260101T000000Z
  const scope = `${amzDate.slice(0, 8)}/${REGION}/states/aws4_request`;
  const payload = JSON.stringify(body);
  let response;
  let text;
  try {
    response = await fetch(endpoint.endsWith('/') ? endpoint : `${endpoint}/`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': `AWSStepFunctions.${action}`,
        'X-Amz-Date': amzDate,
        // A signature's form (64 hex digits), not a signature.
        Authorization: `AWS4-HMAC-SHA256 Credential=test/${scope}, SignedHeaders=host;x-amz-date, ` +
          `Signature=${createHash('sha256').update(payload).digest('hex')}`,
      },
      body: payload,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw new Unreachable(error.cause?.message ?? error.message);
  }
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // Not JSON: reported below.
  }
  if (!response.ok || answer === null || typeof answer !== 'object') {
    // "com.amazonaws.stepfunctions#StateMachineAlreadyExists" or just the name.
    const code = String(answer?.__type ?? response.headers.get('x-amzn-errortype') ?? `HTTP ${response.status}`).split('#').pop().split(':')[0];
    throw new ApiError(code, answer?.message ?? answer?.Message ?? text.slice(0, 300));
  }
  return answer;
}

/** Waits until the endpoint answers ListStateMachines (it may still be starting). */
async function waitForEndpoint(endpoint, waitSeconds) {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      await call(endpoint, 'ListStateMachines', { maxResults: 1 });
      return;
    } catch (error) {
      if (!(error instanceof Unreachable)) throw new SetupError(`the Step Functions API at ${endpoint} answered ListStateMachines with ${error.message}`);
      if (Date.now() >= deadline) throw new SetupError(`no answer from the Step Functions API at ${endpoint} within ${waitSeconds} s: ${error.message}`);
    }
    await sleep(POLL_MS);
  }
}

/** The state machine's ARN, created, or updated to this definition when one of that name exists. */
async function createStateMachine(endpoint, name, definition) {
  try {
    return (await call(endpoint, 'CreateStateMachine', { name, definition, roleArn: ROLE_ARN })).stateMachineArn;
  } catch (error) {
    if (error.code !== 'StateMachineAlreadyExists') throw new SetupError(`the Step Functions API at ${endpoint} refused the state machine ${name}: ${error.message}`);
  }
  let nextToken;
  do {
    const page = await call(endpoint, 'ListStateMachines', nextToken ? { nextToken } : {});
    const found = page.stateMachines?.find((machine) => machine.name === name);
    if (found) {
      try {
        await call(endpoint, 'UpdateStateMachine', { stateMachineArn: found.stateMachineArn, definition, roleArn: ROLE_ARN });
      } catch (error) {
        throw new SetupError(`the Step Functions API at ${endpoint} refused the update of state machine ${name}: ${error.message}`);
      }
      return found.stateMachineArn;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  throw new SetupError(`state machine ${name} exists at ${endpoint} (CreateStateMachine said so) but ListStateMachines does not list it`);
}

/** A DescribeExecution answer as lib/cases.mjs compares it. */
function outcomeOf(description) {
  const { status } = description;
  if (status === 'SUCCEEDED') return { status, output: JSON.parse(description.output ?? 'null') };
  return { status, error: description.error, cause: description.cause };
}

/**
 * Starts every case at once (the Retry intervals are the definition's own, so the cases that
 * retry take minutes): a Map, case -> execution ARN. `running` receives the ARNs (the executions
 * not yet ended, stopped on a signal).
 */
async function startCases(endpoint, machineArn, cases, running) {
  const started = await Promise.all(Object.keys(cases).map(async (name) => {
    try {
      const { executionArn } = await call(endpoint, 'StartExecution', {
        stateMachineArn: `${machineArn}#${name}`,
        name: `${name.slice(0, 50)}-${randomBytes(6).toString('hex')}`,
        input: JSON.stringify(cases[name].input),
      });
      running.add(executionArn);
      return [name, executionArn];
    } catch (error) {
      throw new SetupError(`StartExecution of test case ${name} at ${endpoint} failed: ${error.message}`);
    }
  }));
  return new Map(started);
}

/**
 * Polls the `executions` (from startCases) until each has ended or `timeoutSeconds` have
 * passed: a case still running then is stopped and reported as `{status: 'RUNNING', error:
 * 'sfn-local.Timeout'}`. Resolves with `{case: outcome}`.
 */
async function waitForCases(endpoint, executions, timeoutSeconds, running) {
  const names = [...executions.keys()];
  const outcomes = {};
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Object.keys(outcomes).length < names.length) {
    await Promise.all([...executions].filter(([name]) => !outcomes[name]).map(async ([name, executionArn]) => {
      let description;
      try {
        description = await call(endpoint, 'DescribeExecution', { executionArn });
      } catch (error) {
        throw new SetupError(`DescribeExecution of test case ${name} (${executionArn}) failed: ${error.message}`);
      }
      if (description.status === 'RUNNING') return;
      running.delete(executionArn);
      outcomes[name] = outcomeOf(description);
      say(`  ${name}: ${description.status}`);
    }));
    if (Object.keys(outcomes).length === names.length) break;
    if (Date.now() >= deadline) {
      const cause = `not done after ${timeoutSeconds} s (--timeout)`;
      for (const [name, executionArn] of executions) {
        if (outcomes[name]) continue;
        // It may have ended meanwhile; it is reported as not done either way.
        await call(endpoint, 'StopExecution', { executionArn, error: 'sfn-local.Timeout', cause }).catch(() => {});
        running.delete(executionArn);
        outcomes[name] = { status: 'RUNNING', error: 'sfn-local.Timeout', cause };
      }
      break;
    }
    await sleep(POLL_MS);
  }
  return outcomes;
}

/** The state machine the cases file's cases belong to, and those cases (all, or the --case ones). */
function selectCases(options) {
  const { stateMachine, cases: all } = loadCases(options.cases);
  const machine = stateMachine ?? 'rds-refresh';
  const unknown = options.case.filter((name) => !Object.hasOwn(all, name));
  if (unknown.length > 0) {
    throw new SetupError(`no case ${unknown.join(', ')} in ${options.cases} (its cases: ${Object.keys(all).join(', ')})`);
  }
  const cases = options.case.length > 0 ? Object.fromEntries(options.case.map((name) => [name, all[name]])) : all;
  // Checked here: Step Functions' own answer to an unknown test case says less.
  const testCases = loadMockConfig(options['mock-config']).machines[machine];
  if (!testCases) throw new SetupError(`${options['mock-config']} has no state machine ${machine} (the cases file's stateMachine)`);
  const missing = Object.keys(cases).filter((name) => !Object.hasOwn(testCases, name));
  if (missing.length > 0) throw new SetupError(`${options['mock-config']} has no test case ${missing.join(', ')} of state machine ${machine}`);
  return { machine, cases };
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 };

async function main(argv) {
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const { machine, cases } = selectCases(options);
  const { definition } = loadDefinition(options.definition, options.functions, { substitutions: parseSubstitutions(options.substitution) });
  const endpoint = options.endpoint;

  // Interrupted, or given up on: the executions still running are stopped (an endpoint that
  // stays up keeps no leftovers); on a signal, the exit status then says which.
  const running = new Set();
  const stopRunning = (error, cause) => Promise.all([...running].map((executionArn) =>
    call(endpoint, 'StopExecution', { executionArn, error, cause }).catch(() => {}),
  ));
  let stopping = false;
  for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
    process.on(signal, async () => {
      if (stopping) process.exit(code);
      stopping = true;
      say(`■ ${signal}: stopping ${running.size} execution(s)`);
      await stopRunning('sfn-local.Interrupted', signal);
      process.exit(code);
    });
  }

  await waitForEndpoint(endpoint, options.waitSeconds);
  const machineArn = await createStateMachine(endpoint, machine, JSON.stringify(definition));
  let outcomes;
  try {
    const executions = await startCases(endpoint, machineArn, cases, running);
    say(`sfn-local: running ${executions.size} case(s) of ${machineArn} at ${endpoint}`);
    outcomes = await waitForCases(endpoint, executions, options.timeoutSeconds, running);
  } catch (error) {
    await stopRunning('sfn-local.SetupError', error.message);
    throw error;
  }

  let failed = 0;
  const lines = [];
  for (const [name, { expect }] of Object.entries(cases)) {
    const mismatches = outcomeMismatches(expect, outcomes[name]);
    if (mismatches.length > 0) failed += 1;
    lines.push(`${mismatches.length ? '✗' : '✓'} ${name}`, ...mismatches.map((m) => `    ${m}`));
  }
  await new Promise((resolve) => process.stdout.write(lines.join('\n') + '\n', resolve));
  say(`sfn-local: ${Object.keys(cases).length - failed} of ${Object.keys(cases).length} case(s) ended as expected`);
  return failed > 0 ? 1 : 0;
}

let code;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  say(`sfn-local.mjs: ${error instanceof SetupError ? error.message : `internal error: ${error.stack}`}`);
  if (error instanceof UsageError) say(USAGE);
  code = 2;
}
process.exit(code);
