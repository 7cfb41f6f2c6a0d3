// The states:startExecution integration against the local emulator (moto's Step Functions API),
// and the starter state machine that uses it (statemachine/start-on-snapshot.asl.json): a
// duplicated or retried snapshot event starts one refresh execution, named after the snapshot.
// moto only records the executions (execute_state_machine stays off): they stay RUNNING until
// stopped, which is how a test makes one "closed".
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { StateMachine } from '../lib/interpreter.mjs';
import { awsJson, readEvents, root, runCli, sandbox, startEmulator } from './helpers.mjs';

const repo = path.resolve(root, '..', '..');
const STARTER = path.join(repo, 'statemachine', 'start-on-snapshot.asl.json');
// Not us-east-1: the call must be made in the state machine's region, which only its ARN gives
// (the stack, and so the refresh state machine, lives in the target's region).
const REGION = 'us-west-2';

// The refresh's execution input as the rule's InputTransformer builds it (deploy/template.yaml).
const REFRESH_INPUT = {
  source: { region: 'us-east-1', dbInstanceIdentifier: 'x' },
  target: { region: REGION, dbInstanceIdentifier: 'y' },
  mode: 'swap',
  retainOldMinutes: 0,
  copy: { retain: 2 },
  notify: { topicArn: `arn:aws:sns:${REGION}:123456789012:rds-refresh` },
};

let emulator;
let refreshArn;
before(async () => {
  emulator = await startEmulator();
  // Any valid definition: moto records executions without running them.
  const created = await sfn('CreateStateMachine', {
    name: 'rds-refresh',
    definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
    roleArn: 'arn:aws:iam::123456789012:role/rds-refresh',
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  refreshArn = created.body.stateMachineArn;
});
after(() => emulator?.stop());

const sfn = (action, body) =>
  awsJson(emulator.url, { region: REGION, service: 'states', target: `AWSStepFunctions.${action}`, body });

const snapshotArn = (id) => `arn:aws:rds:us-east-1:123456789012:snapshot:${id}`;
const nameFor = (arn) => `snapshot-${createHash('sha256').update(arn).digest('hex')}`;

/** The executions of the refresh state machine with this name. */
async function executionsNamed(name) {
  const listed = await sfn('ListExecutions', { stateMachineArn: refreshArn });
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  return listed.body.executions.filter((e) => e.name === name);
}

/** Runs the starter for one delivery of a snapshot event (the input the rule's transformer makes). */
async function deliver(box, arn, { refresh = REFRESH_INPUT, endpoint = emulator.url, more = [] } = {}) {
  const input = await box.json(`event-${Math.random().toString(36).slice(2)}.json`, { snapshotArn: arn, refresh });
  return runCli([
    // No --binary: the starter has no Lambda Task state.
    '--definition', STARTER, '--substitution', `RefreshStateMachineArn=${refreshArn}`,
    '--input', input, '--endpoint', endpoint, ...more,
  ]);
}

test("States.Hash gives the real digests (aws-local-stepfunctions' own are wrong from 56 bytes on)", async () => {
  const algorithms = { MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
  const parameters = Object.fromEntries(Object.keys(algorithms).map((name) => [`${name}.$`, `States.Hash($.text, '${name}')`]));
  const machine = new StateMachine(
    { StartAt: 'Hash', States: { Hash: { Type: 'Pass', Parameters: parameters, End: true } } },
    { validationOptions: { noValidate: true } },
  );
  for (const text of ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), snapshotArn('rds:x-2026-11-23-05-10'), 'é'.repeat(100)]) {
    const digests = await machine.run({ text }).result;
    for (const [name, algorithm] of Object.entries(algorithms)) {
      assert.equal(digests[name], createHash(algorithm).update(text, 'utf8').digest('hex'), `${name} of ${text.length} characters`);
    }
  }
});

test('a duplicated snapshot event starts one execution, named after the snapshot, with the refresh input', async (t) => {
  const box = await sandbox(t, []);
  // An automated snapshot: its identifier has a colon, which an execution name may not.
  const arn = snapshotArn('rds:x-2026-11-23-05-10');
  const name = nameFor(arn);
  assert.ok(name.length <= 80, name);

  const first = await deliver(box, arn);
  assert.equal(first.code, 0, first.stderr);
  const started = JSON.parse(first.stdout);
  assert.equal(started.started.executionArn, `arn:aws:states:${REGION}:123456789012:execution:rds-refresh:${name}`);
  assert.equal(typeof started.started.startDate, 'number');
  assert.equal(started.alreadyStarted, undefined);
  assert.match(first.stderr, /^✓ StartRefresh \(\d+\.\d\d s\)$/m);

  // Delivered again while that execution runs: the same name and input answer with it (AWS
  // does the same for a STANDARD workflow), nothing new starts.
  const second = await deliver(box, arn);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(JSON.parse(second.stdout).started, started.started);

  const executions = await executionsNamed(name);
  assert.equal(executions.length, 1, JSON.stringify(executions));
  const described = await sfn('DescribeExecution', { executionArn: executions[0].executionArn });
  assert.equal(described.body.status, 'RUNNING');
  assert.deepEqual(JSON.parse(described.body.input), REFRESH_INPUT);
});

test('a delivery after the execution ended, or with other input, is caught as already started: nothing new starts', async (t) => {
  const box = await sandbox(t, []);
  const arn = snapshotArn('x-manual-2026-11-23');
  const name = nameFor(arn);
  const first = await deliver(box, arn);
  assert.equal(first.code, 0, first.stderr);
  const { executionArn } = JSON.parse(first.stdout).started;

  // The same snapshot with other input (say the stack's parameters changed) while it runs.
  const other = await deliver(box, arn, { refresh: { ...REFRESH_INPUT, mode: 'replace' } });
  assert.equal(other.code, 0, other.stderr);
  assert.equal(JSON.parse(other.stdout).alreadyStarted.Error, 'StepFunctions.ExecutionAlreadyExistsException');

  // The execution ends (stopped here; moto does not run it), then the event comes once more.
  assert.equal((await sfn('StopExecution', { executionArn })).status, 200);
  const events = path.join(box.dir, 'events.jsonl');
  const late = await deliver(box, arn, { more: ['--events', events] });
  assert.equal(late.code, 0, late.stderr);
  const output = JSON.parse(late.stdout);
  assert.equal(output.started, undefined);
  assert.equal(output.alreadyStarted.Error, 'StepFunctions.ExecutionAlreadyExistsException');
  // The cause as Step Functions gives it: the service's message, then the Java SDK's details.
  assert.match(
    output.alreadyStarted.Cause,
    new RegExp(
      `^Execution Already Exists: '${executionArn}' \\(Service: AWSStepFunctions; Status Code: 400; ` +
        'Error Code: ExecutionAlreadyExists; Request ID: \\S+; Proxy: null\\)$',
    ),
  );
  assert.match(late.stderr, /^⤷ caught StepFunctions.ExecutionAlreadyExistsException in StartRefresh -> AlreadyStarted$/m);
  const types = (await readEvents(events)).map((e) => `${e.type}:${e.state ?? ''}`);
  assert.ok(types.includes('StateCaught:StartRefresh'), types.join(' '));
  assert.ok(types.includes('StateEntered:AlreadyStarted'), types.join(' '));
  assert.ok(!types.some((type) => type.startsWith('StateRetried')), types.join(' '));

  const executions = await executionsNamed(name);
  assert.equal(executions.length, 1, JSON.stringify(executions));
  assert.equal(executions[0].status, 'ABORTED');
});

test("another snapshot's event starts another execution", async (t) => {
  const box = await sandbox(t, []);
  const arns = [snapshotArn('rds:x-2026-11-24-05-10'), snapshotArn('rds:x-2026-11-25-05-10')];
  for (const arn of arns) {
    const { code, stderr } = await deliver(box, arn);
    assert.equal(code, 0, stderr);
  }
  const names = arns.map(nameFor);
  assert.notEqual(names[0], names[1]);
  for (const name of names) assert.equal((await executionsNamed(name)).length, 1, name);
});

test('Step Functions errors fail the state under the names Step Functions gives them', async (t) => {
  const box = await sandbox(t, []);
  const starting = (parameters) =>
    box.json('start.asl.json', {
      StartAt: 'Start',
      States: { Start: { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution', Parameters: parameters, End: true } },
    });
  const run = (definition) => runCli(['--definition', definition, '--binary', box.binary, '--endpoint', emulator.url]);

  let result = await run(await starting({ StateMachineArn: refreshArn.replace(/rds-refresh$/, 'no-such-machine'), Input: {} }));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: StepFunctions.StateMachineDoesNotExistException: State Machine Does Not Exist: .* \(Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; /m);

  result = await run(await starting({ StateMachineArn: refreshArn, Name: 'not a name', Input: {} }));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: StepFunctions.InvalidNameException: Invalid Name: 'not a name'/m);

  result = await run(await starting({ StateMachineArn: refreshArn, Name: 'n'.repeat(81) }));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: StepFunctions.ValidationException: .*length less than or equal to 80/m);

  // A string Input is sent as it is; it must be JSON.
  result = await run(await starting({ StateMachineArn: refreshArn, Input: 'not json' }));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: StepFunctions.InvalidExecutionInputException: /m);

  // No answer at all: the SDK's client error, which the starter retries (6 times) and then fails with.
  result = await deliver(box, snapshotArn('x-unreachable'), { endpoint: 'http://127.0.0.1:9' });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^↻ StartRefresh retry 6 after StepFunctions.SdkClientException: Unable to execute HTTP request: /m);
  assert.doesNotMatch(result.stderr, /retry 7/);
  assert.match(result.stderr, /^error: StepFunctions.SdkClientException: /m);
});

test('states:startExecution without --endpoint, with a parameter StartExecution lacks, or .sync:2 of an unknown machine is a setup error', async (t) => {
  const box = await sandbox(t, []);
  const starting = (resource, parameters) =>
    box.json('start.asl.json', { StartAt: 'Start', States: { Start: { Type: 'Task', Resource: resource, Parameters: parameters, End: true } } });
  const machine = 'arn:aws:states:us-east-1:123456789012:stateMachine:m';

  let result = await runCli(['--definition', await starting('arn:aws:states:::states:startExecution', { StateMachineArn: machine }), '--binary', box.binary]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /state Start: Resource "arn:aws:states:::states:startExecution" cannot run locally without --endpoint \(it starts the execution through the Step Functions API there\)/);

  result = await runCli([
    '--definition', await starting('arn:aws:states:::states:startExecution', { StateMachineArn: machine, 'Input.$': '$', Mode: 'x' }),
    '--binary', box.binary, '--endpoint', emulator.url,
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /state Start: states:startExecution parameter\(s\) Mode are not StartExecution's/);

  result = await runCli([
    '--definition', await starting('arn:aws:states:::states:startExecution.sync:2', { StateMachineArn: machine }),
    '--binary', box.binary, '--endpoint', emulator.url,
  ]);
  assert.equal(result.code, 2);
  // It runs here, nested, only with a --state-machine definition for it (test/nested.test.mjs).
  assert.match(result.stderr, /Resource "arn:aws:states:::states:startExecution.sync:2" cannot run locally without a --state-machine m=DEFINITION_FILE/);

  // --binary may be left out only when no Task state invokes a Lambda function.
  const lambda = await box.json('lambda.asl.json', {
    StartAt: 'Call',
    States: { Call: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:echo-function', End: true } },
  });
  result = await runCli(['--definition', lambda]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--binary is required: Task state Call invokes a Lambda function/);
});

test('--substitution fills a placeholder that is not a function; without it the placeholder is unknown', async (t) => {
  const box = await sandbox(t, []);
  const input = await box.json('event.json', { snapshotArn: snapshotArn('x-1'), refresh: {} });
  let result = await runCli(['--definition', STARTER, '--binary', box.binary, '--input', input, '--endpoint', emulator.url]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown placeholder\(s\) \$\{RefreshStateMachineArn\}: not in the functions file \(--functions\) nor given with --substitution/);

  for (const bad of ['RefreshStateMachineArn', 'Refresh-Arn=x', 'RefreshStateMachineArn=a"b']) {
    result = await runCli(['--definition', STARTER, '--substitution', bad, '--binary', box.binary, '--endpoint', emulator.url]);
    assert.equal(result.code, 2, bad);
    assert.match(result.stderr, /--substitution /, bad);
  }

  // What scripts/test runs: every definition of statemachine/, the functions file and the starter's substitution.
  result = await runCli(
    [
      '--functions', path.join(repo, 'statemachine', 'functions.json'),
      '--substitution', 'RefreshStateMachineArn=arn:aws:states:us-east-1:000000000000:stateMachine:rds-refresh',
      path.join(repo, 'statemachine', 'refresh.asl.json'), STARTER,
    ],
    { script: 'validate.mjs' },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /✓ .*start-on-snapshot\.asl\.json is valid/);
});
