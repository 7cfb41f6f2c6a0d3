// Runs an Amazon States Language definition locally: aws-local-stepfunctions interprets it and
// every Lambda Task runs the real Lambda binary (--binary, `_HANDLER` = the function's name)
// behind a local Lambda Runtime API; sns:publish
// Tasks publish to the SNS API at --endpoint, states:startExecution Tasks start executions through
// the Step Functions API there, and states:startExecution.sync(:2) Tasks run the child state
// machine's definition (--state-machine) here, nested. With --register-execution each execution
// is also registered in the Step Functions API at --endpoint, and its end reported there. With
// --mock-config and --test-case, the Task states the test case mocks (AWS Step Functions Local's
// mock file format) answer from that file.
//
// Exit status: 0 the execution succeeded (output JSON on stdout), 1 it failed, timed out or was
// stopped by --abort-after (or, with --validate-only, the definition is invalid), 2 usage or
// setup error (a failed report to the emulator included), 130/143 interrupted by SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {
  allStates,
  LAMBDA_INVOKE,
  loadDefinition,
  parseCommandLine,
  parseSubstitutions,
  readJson,
  SetupError,
  taskKind,
  UsageError,
  validate,
} from './lib/definition.mjs';
import { accessKeyIds, LocalLambda } from './lib/lambda.mjs';
import { loadMockConfig, selectTestCase } from './lib/mock-config.mjs';
import { Progress } from './lib/progress.mjs';
import { Registration } from './lib/registration.mjs';
import { checkRunnable, LOCAL_ARN_PREFIX, staticFunctions } from './lib/runner.mjs';
import { arnPlaceholderOf, Session } from './lib/session.mjs';
import { statusChangeEvent, UNSUCCESSFUL } from './lib/status-event.mjs';

const USAGE = `usage: run.mjs --definition FILE [--functions FILE --binary FILE] [--input FILE|-]
              [--substitution NAME=VALUE]... [--endpoint URL] [--events FILE]
              [--function-logs | --function-log-file FILE]
              [--wait-ms MS] [--retry-interval-ms MS] [--real-waits | --time-scale F]
              [--access-key-per-function] [--execution-name NAME] [--fail-after STATE]...
              [--abort-after STATE]... [--state-machine NAME=DEFINITION_FILE]...
              [--register-execution [--status-change-event FILE]]
       run.mjs --definition FILE --functions FILE --mock-config FILE --test-case NAME
              [--state-machine-name NAME] [--binary FILE] [the options above]
       run.mjs --definition FILE [--functions FILE] [--substitution NAME=VALUE]... --validate-only`;

const OPTIONS = {
  definition: { type: 'string' },
  functions: { type: 'string' },
  substitution: { type: 'string', multiple: true, default: [] },
  binary: { type: 'string' },
  input: { type: 'string' },
  endpoint: { type: 'string' },
  events: { type: 'string' },
  'function-logs': { type: 'boolean', default: false },
  'function-log-file': { type: 'string' },
  // No defaults here: parseOptions must see whether they were given (see TIMING_DEFAULTS).
  'wait-ms': { type: 'string' },
  'retry-interval-ms': { type: 'string' },
  'real-waits': { type: 'boolean' },
  'time-scale': { type: 'string' },
  'access-key-per-function': { type: 'boolean', default: false },
  'execution-name': { type: 'string' },
  'fail-after': { type: 'string', multiple: true, default: [] },
  'abort-after': { type: 'string', multiple: true, default: [] },
  'state-machine': { type: 'string', multiple: true, default: [] },
  'register-execution': { type: 'boolean', default: false },
  'status-change-event': { type: 'string' },
  'mock-config': { type: 'string' },
  'test-case': { type: 'string' },
  'state-machine-name': { type: 'string' },
  'validate-only': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

// Every Wait and Retry pause takes 10 ms unless told otherwise: fast runs that keep retry counts.
const TIMING_DEFAULTS = { 'wait-ms': '10', 'retry-interval-ms': '10', 'real-waits': false };

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 };

const say = (line) => process.stderr.write(line + '\n');

function parseOptions(argv) {
  const values = parseCommandLine(argv, OPTIONS);
  if (values.help) return values;
  if (!values.definition) throw new UsageError('--definition is required');
  parseTiming(values);
  const mocking = values['mock-config'] !== undefined;
  if (mocking !== (values['test-case'] !== undefined)) {
    throw new UsageError('--mock-config and --test-case go together: the file, and the test case of it to run');
  }
  if (values['state-machine-name'] !== undefined && !mocking) {
    throw new UsageError('--state-machine-name chooses a state machine of the --mock-config file');
  }
  // A test case that mocks every state it reaches needs no binary, nor does a definition
  // without Lambda Task states (checked once it is loaded: requireBinary).
  // Checked here rather than left to fail at the first sns:publish or in every function.
  if (values.endpoint !== undefined && !/^https?:\/\/[^/]/.test(values.endpoint)) {
    throw new UsageError('--endpoint must be an http:// or https:// URL');
  }
  if (values['register-execution'] && values.endpoint === undefined) {
    throw new UsageError('--register-execution needs --endpoint: the Step Functions API to register the execution in');
  }
  if (values['status-change-event'] !== undefined && !values['register-execution']) {
    throw new UsageError('--status-change-event needs --register-execution: the event names the registered execution and state machine');
  }
  values.machines = parseStateMachines(values['state-machine']);
  return values;
}

/** The --state-machine NAME=DEFINITION_FILE options as a Map, NAME -> file. */
function parseStateMachines(options) {
  const machines = new Map();
  for (const option of options) {
    // A state machine name (API_CreateStateMachine): 1-80 of these (a log-friendly subset).
    const match = /^([A-Za-z0-9_-]{1,80})=(.+)$/s.exec(option);
    if (!match) throw new UsageError(`--state-machine ${option}: expected NAME=DEFINITION_FILE (NAME: letters, digits, - and _)`);
    if (machines.has(match[1])) throw new UsageError(`--state-machine ${match[1]} is given twice`);
    machines.set(match[1], match[2]);
  }
  return machines;
}

/**
 * Checks the timing options, fills in their defaults and sets `timeScale` (null when not
 * scaling). --time-scale keeps the definition's times, scaled; the others replace them (or
 * keep them whole): one or the other.
 */
function parseTiming(values) {
  const replacing = Object.keys(TIMING_DEFAULTS).filter((flag) => values[flag] !== undefined);
  if (values['time-scale'] !== undefined && replacing.length > 0) {
    throw new UsageError(
      `--time-scale cannot be combined with ${replacing.map((f) => `--${f}`).join(', ')}: ` +
        "it scales the definition's own Wait and Retry times, they replace them",
    );
  }
  for (const [flag, value] of Object.entries(TIMING_DEFAULTS)) values[flag] ??= value;
  for (const flag of ['wait-ms', 'retry-interval-ms']) {
    if (!/^\d+$/.test(values[flag])) throw new UsageError(`--${flag} must be a whole number of milliseconds`);
  }
  values.timeScale = null;
  if (values['time-scale'] === undefined) return;
  // A plain decimal number (Number() alone would take '0x10', 'Infinity' and ' ').
  const factor = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(values['time-scale']) ? Number(values['time-scale']) : NaN;
  if (!(factor > 0 && Number.isFinite(factor))) throw new UsageError('--time-scale must be a positive number, e.g. 0.01');
  values.timeScale = factor;
}

const describeProblems = (file, problems) =>
  `${file} is not a valid state machine:\n${problems.map((p) => `  - ${p}`).join('\n')}`;

/** --binary is required for a definition with a Lambda Task state (every function runs it). */
function requireBinary(definition) {
  const lambdaTask = [...allStates(definition)].find(
    ([name, state]) => state.Type === 'Task' && taskKind(name, state).integration === LAMBDA_INVOKE,
  );
  if (lambdaTask) throw new UsageError(`--binary is required: Task state ${lambdaTask[0]} invokes a Lambda function`);
}

/** The --binary must be an executable file (which handlers it serves shows when a function starts). */
function checkBinary(file) {
  let executable = false;
  try {
    fs.accessSync(file, fs.constants.X_OK);
    executable = fs.statSync(file).isFile();
  } catch {
    // reported below
  }
  if (!executable) {
    throw new SetupError(`the Lambda binary ${file} (--binary) is missing or not an executable file: build it first (cargo build -p rds-refresh-lambda)`);
  }
}

/** Runs `open`, turning a failure into a SetupError that names the file. */
function opening(file, what, open) {
  try {
    return open();
  } catch (error) {
    throw new SetupError(`cannot write ${what} ${file}: ${error.code ?? error.message}`);
  }
}

function functionLogs(options) {
  if (options['function-logs']) return (name, line) => say(`  ${name}: ${line}`);
  const file = options['function-log-file'];
  if (!file) return 'ignore';
  return opening(file, 'function log file', () => {
    fs.writeFileSync(file, '');
    // Appending: several processes write to the same file.
    return fs.openSync(file, 'a');
  });
}

/** The state machine's name: the mock config's (as SFN Local knows it), or, as a deployed machine would be named after its definition file, refresh.asl.json -> refresh. */
const stateMachineNameFor = (options, mock) => mock?.machine ?? path.basename(options.definition).replace(/\.asl\.json$|\.json$/, '');

/**
 * The tasks that log in to a database verify its certificate against the CA bundle that
 * RDS_REFRESH_CA_BUNDLE names (on AWS, RDS's). Against the local emulator with databases, and
 * with no bundle set, the functions get the emulator's CA (GET /_emulator/databases); any other
 * endpoint has no such API, and the setting is left as it is.
 */
async function trustEmulatorCa(endpoint) {
  if (!endpoint || process.env.RDS_REFRESH_CA_BUNDLE) return;
  try {
    const answer = await fetch(new URL('/_emulator/databases', endpoint), { signal: AbortSignal.timeout(5000) });
    const databases = answer.ok ? await answer.json() : null;
    if (databases?.caBundle) process.env.RDS_REFRESH_CA_BUNDLE = databases.caBundle;
  } catch {
    // Not the emulator (or not reachable yet): the functions' own setting, if any, applies.
  }
}

async function main(argv) {
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const validateOnly = options['validate-only'];
  // Registered executions get the endpoint's account and region in their ARNs.
  const registration = options['register-execution'] && !validateOnly
    ? await Registration.connect(options.endpoint, process.env.AWS_REGION || undefined)
    : null;
  // Each --state-machine NAME's ARN fills ${<Name>StateMachineArn} (refresh -> RefreshStateMachineArn),
  // unless --substitution gives that placeholder.
  const machineArn = (name) => registration?.expectedArn(name) ?? `${LOCAL_ARN_PREFIX}:stateMachine:${name}`;
  const substitutions = {
    ...Object.fromEntries([...options.machines.keys()].map((name) => [arnPlaceholderOf(name), machineArn(name)])),
    ...parseSubstitutions(options.substitution),
  };
  const { definition, functions } = loadDefinition(options.definition, options.functions, { anyPlaceholder: validateOnly, substitutions });
  const problems = validate(definition);
  if (validateOnly) {
    say(problems.length ? `error: ${describeProblems(options.definition, problems)}` : `✓ ${options.definition} is valid`);
    return problems.length ? 1 : 0;
  }
  if (problems.length) throw new SetupError(describeProblems(options.definition, problems));
  const mock = options['mock-config'] ? loadTestCase(options, definition) : null;
  const machineNames = new Set(options.machines.keys());
  checkRunnable(definition, {
    endpoint: options.endpoint,
    failAfter: options['fail-after'],
    abortAfter: options['abort-after'],
    mocking: mock !== null,
    machines: machineNames,
  });
  const machines = loadStateMachines(options, substitutions, machineNames);

  const binary = options.binary;
  if (binary) checkBinary(binary);
  else {
    if (!mock) requireBinary(definition);
    for (const machine of machines.values()) requireBinary(machine.definition);
  }
  const input = options.input ? readJson(options.input, 'input') : {};
  let lambda = null;
  if (binary) await trustEmulatorCa(options.endpoint);
  if (binary) {
    const used = staticFunctions(definition, { except: new Set(mock?.mocks.keys()) });
    for (const machine of machines.values()) for (const name of staticFunctions(machine.definition)) used.add(name);
    lambda = new LocalLambda({
      binary,
      functions: [...Object.values(functions), ...used],
      endpoint: options.endpoint,
      logs: functionLogs(options),
      // Each function its own access key id, so the emulator's call log names the caller.
      accessKeyIds: options['access-key-per-function'] ? accessKeyIds(functions) : null,
    });
    // Whatever happens next, no function process outlives the runner.
    process.on('exit', () => lambda.killNow());
  }

  const eventFile = options['status-change-event'];
  // A file left by an earlier run must not pass for this one's event.
  if (eventFile) opening(eventFile, 'status change event file', () => fs.rmSync(eventFile, { force: true }));
  const progress = opening(options.events, 'events file', () => new Progress({ eventsFile: options.events }));
  const scale = options.timeScale;
  if (scale !== null) say(`◆ time scale ${scale}: every Wait and Retry pause is ${scale} × the definition's`);
  if (mock) say(`◆ test case ${mock.testCase} of ${mock.machine}: ${mock.mocks.size} Task state(s) mocked by ${mock.file}`);

  const session = new Session({
    lambda,
    endpoint: options.endpoint,
    registration,
    machines,
    timing: {
      waitMs: Number(options['wait-ms']),
      retryIntervalMs: Number(options['retry-interval-ms']),
      realWaits: options['real-waits'],
      timeScale: options.timeScale,
    },
    say,
  });

  let execution = null;
  let signalled = null;
  const onSignal = (signal) => {
    if (signalled) {
      // A second signal: do not wait for a graceful stop.
      lambda?.killNow();
      process.exit(SIGNAL_EXIT[signalled]);
    }
    signalled = signal;
    say(`■ ${signal}: aborting the execution`);
    execution?.abort();
  };
  for (const signal of Object.keys(SIGNAL_EXIT)) process.on(signal, onSignal);

  let run;
  try {
    const stateMachineName = stateMachineNameFor(options, mock);
    if (registration) await registerStateMachines(registration, machines);
    const stateMachineArn = await session.stateMachineArn(stateMachineName, JSON.stringify(definition));
    run = await session.run({
      machineName: stateMachineName,
      definition,
      stateMachineArn,
      // Unique enough for runs started together against one emulator (where names are never released).
      name: options['execution-name'] ?? `local-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`,
      input,
      inputText: JSON.stringify(input),
      progress,
      failAfter: options['fail-after'],
      abortAfter: options['abort-after'],
      mock,
      onStart: (e) => {
        execution = e;
        if (signalled) e.abort();
      },
    });
  } finally {
    progress.close();
    await lambda?.stop();
  }

  const { outcome } = run;
  if (eventFile && UNSUCCESSFUL.has(outcome.status)) {
    opening(eventFile, 'status change event file', () => fs.writeFileSync(eventFile, JSON.stringify(statusChangeEvent(run), null, 2) + '\n'));
  }
  let code;
  if (signalled) code = SIGNAL_EXIT[signalled];
  else if (outcome.status === 'SUCCEEDED') {
    await new Promise((resolve) => process.stdout.write(JSON.stringify(outcome.output, null, 2) + '\n', resolve));
    code = 0;
  } else if (outcome.status === 'ABORTED') {
    say(`error: aborted after ${outcome.abortedAfter}: stopped as StopExecution stops an execution (no Catch, no further state)`);
    code = 1;
  } else {
    say(`error: ${outcome.error}: ${readableCause(outcome.cause)}`);
    code = 1;
  }
  // The emulator does not know how the execution ended: what reads it there would be misled.
  if (session.problems.length > 0 && !signalled) code = 2;
  return code;
}

/**
 * The --state-machine definitions, NAME -> `{ file, definition, text }`: substituted as the main
 * definition is, validated, and checked as it is (their own .sync Tasks included).
 */
function loadStateMachines(options, substitutions, machineNames) {
  const machines = new Map();
  for (const [name, file] of options.machines) {
    const { definition } = loadDefinition(file, options.functions, { substitutions });
    const problems = validate(definition);
    if (problems.length) throw new SetupError(`--state-machine ${name}: ${describeProblems(file, problems)}`);
    try {
      checkRunnable(definition, { endpoint: options.endpoint, machines: machineNames });
    } catch (error) {
      throw new SetupError(`--state-machine ${name} (${file}): ${error.message}`);
    }
    machines.set(name, { file, definition, text: JSON.stringify(definition) });
  }
  return machines;
}

/** Creates each --state-machine in the endpoint's Step Functions API, under the ARN its placeholder was given. */
async function registerStateMachines(registration, machines) {
  for (const [name, machine] of machines) {
    const arn = await registration.stateMachine(name, machine.text);
    const expected = registration.expectedArn(name);
    if (arn !== expected) {
      throw new SetupError(`--state-machine ${name}: the endpoint answered ${arn} for it, but \${${arnPlaceholderOf(name)}} was given ${expected}`);
    }
  }
}

/** The test case to run from the --mock-config file, checked against the definition. */
function loadTestCase(options, definition) {
  const file = options['mock-config'];
  return selectTestCase(loadMockConfig(file), definition, {
    file,
    machine: options['state-machine-name'],
    testCase: options['test-case'],
  });
}

/** A Lambda error's cause is the JSON AWS gives (`{"errorType","errorMessage"}`): show its message. */
function readableCause(cause) {
  try {
    const parsed = JSON.parse(cause);
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: shown as it is.
  }
  return cause;
}

let code;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  say(`run.mjs: ${error instanceof SetupError ? error.message : `internal error: ${error.stack}`}`);
  if (error instanceof UsageError) say(USAGE);
  code = 2;
}
// Exit now: the interpreter may still hold timers of tasks that were cut short.
process.exit(code);
