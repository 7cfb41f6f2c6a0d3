// --register-execution against the local emulator (moto's Step Functions API plus its
// /_emulator/execution report): `$$.Execution.Id` is an ARN DescribeExecution answers, with the
// status the run ended with; --status-change-event writes the EventBridge event of an execution
// that did not succeed; nested .sync:2 children are registered too; scripts/refresh-local and
// scripts/repair-local pass it all through.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { awsJson, fixture, repoRoot, runArgs, runCli, runScript, sandbox, startEmulator } from './helpers.mjs';

const ACCOUNT = '123456789012'; // moto's, for the dummy credentials
const ARN = `arn:aws:states:us-east-1:${ACCOUNT}`;
// The runner registers in the functions' region: pinned, whatever the environment says.
const ENV = { AWS_REGION: 'us-east-1' };

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());

const sfn = async (action, body) => {
  const answer = await awsJson(emulator.url, { service: 'states', target: `AWSStepFunctions.${action}`, body });
  assert.equal(answer.status, 200, `${action}: ${JSON.stringify(answer.body)}`);
  return answer.body;
};
const describe = (executionArn) => sfn('DescribeExecution', { executionArn });
const history = async (executionArn) =>
  (await sfn('GetExecutionHistory', { executionArn })).events.map((e) => `${e.type}${e.stateEnteredEventDetails ? `:${e.stateEnteredEventDetails.name}` : ''}`);

const registered = (...more) => ['--endpoint', emulator.url, '--register-execution', ...more];

test("$$.Execution.Id is the registered execution's ARN, and DescribeExecution answers how it ended", async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { poll: { return: 'polled' }, pause: 1 });
  // --time-scale: the SecondsPath Wait runs as a Task stand-in, reported as the Wait it is.
  const ok = await runCli(runArgs(box, 'context.asl.json', input, ...registered('--execution-name', 'reg-ok', '--time-scale', '0.001')), { env: ENV });
  assert.equal(ok.code, 0, ok.stderr);
  const output = JSON.parse(ok.stdout);
  assert.deepEqual(
    [output.executionId, output.executionName, output.stateMachineId, output.stateMachineName, output.roleArn],
    [`${ARN}:execution:context:reg-ok`, 'reg-ok', `${ARN}:stateMachine:context`, 'context', `arn:aws:iam::${ACCOUNT}:role/context-local`],
  );
  assert.match(ok.stderr, new RegExp(`^◆ registered as ${ARN}:execution:context:reg-ok$`, 'm'));
  const described = await describe(output.executionId);
  assert.equal(described.status, 'SUCCEEDED');
  assert.deepEqual(JSON.parse(described.output), output);
  assert.deepEqual(JSON.parse(described.input), { poll: { return: 'polled' }, pause: 1 });
  assert.equal(typeof described.stopDate, 'number');
  assert.deepEqual(await history(output.executionId), [
    'ExecutionStarted', 'PassStateEntered:Context', 'WaitStateEntered:Pause', 'TaskStateEntered:Poll', 'ExecutionSucceeded',
  ]);

  const failing = await box.json('failing.json', { poll: { fail: 'NotReady', message: 'not yet' }, pause: 0 });
  const failed = await runCli(runArgs(box, 'context.asl.json', failing, ...registered('--execution-name', 'reg-failed')), { env: ENV });
  assert.equal(failed.code, 1, failed.stderr);
  const failure = await describe(`${ARN}:execution:context:reg-failed`);
  assert.equal(failure.status, 'FAILED');
  assert.equal(failure.error, 'NotReady');
  assert.deepEqual(JSON.parse(failure.cause), { errorType: 'NotReady', errorMessage: 'not yet' });
  assert.equal(failure.output, undefined);

  // A name that is taken (the execution has ended): the run cannot be registered, nothing runs.
  const again = await runCli(runArgs(box, 'context.asl.json', input, ...registered('--execution-name', 'reg-ok')), { env: ENV, state: box.state });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /StartExecution of .*stateMachine:context named reg-ok failed: StepFunctions.ExecutionAlreadyExistsException/);
  assert.deepEqual(await box.pids(), []);
});

test('--abort-after: the registered execution ends ABORTED and the status change event is the one AWS sends', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { ask: 'abort' });
  const eventFile = path.join(box.dir, 'event.json');
  const started = Date.now();
  const { code, stderr } = await runCli(
    runArgs(box, 'fail-after.asl.json', input, ...registered('--execution-name', 'reg-aborted', '--abort-after', 'Second', '--status-change-event', eventFile)),
    { env: ENV },
  );
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^error: aborted after Second/m);
  const executionArn = `${ARN}:execution:fail-after:reg-aborted`;
  const described = await describe(executionArn);
  assert.equal(described.status, 'ABORTED');
  // No Catch, no state after Second.
  assert.deepEqual(await history(executionArn), ['ExecutionStarted', 'TaskStateEntered:First', 'TaskStateEntered:Second', 'ExecutionAborted']);

  const event = JSON.parse(await readFile(eventFile, 'utf8'));
  assert.deepEqual(Object.keys(event), ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail']);
  assert.deepEqual(Object.keys(event.detail), [
    'executionArn', 'stateMachineArn', 'name', 'status', 'startDate', 'stopDate', 'input', 'output', 'stateMachineVersionArn',
    'stateMachineAliasArn', 'redriveCount', 'redriveDate', 'redriveStatus', 'redriveStatusReason', 'inputDetails', 'outputDetails',
    'error', 'cause',
  ]);
  assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const { startDate, stopDate } = event.detail;
  assert.ok(started <= startDate && startDate <= stopDate && stopDate <= Date.now(), JSON.stringify(event.detail));
  assert.deepEqual(event, {
    version: '0',
    id: event.id,
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: event.time,
    region: 'us-east-1',
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: `${ARN}:stateMachine:fail-after`,
      name: 'reg-aborted',
      status: 'ABORTED',
      startDate,
      stopDate,
      input: '{"ask":"abort"}',
      output: null,
      stateMachineVersionArn: null,
      stateMachineAliasArn: null,
      redriveCount: 0,
      redriveDate: null,
      redriveStatus: 'REDRIVABLE',
      redriveStatusReason: null,
      inputDetails: { included: true },
      outputDetails: null,
      error: null,
      cause: null,
    },
  });
  assert.equal(Math.abs(described.startDate * 1000 - startDate) < 1000, true);

  // A run that succeeds writes none, and removes the one an earlier run left.
  const succeeded = await runCli(runArgs(box, 'fail-after.asl.json', input, ...registered('--status-change-event', eventFile)), { env: ENV });
  assert.equal(succeeded.code, 0, succeeded.stderr);
  await assert.rejects(readFile(eventFile), { code: 'ENOENT' });

  // A failed one writes its error and cause.
  const failing = await box.json('failing.json', { poll: { fail: 'NotReady', message: 'not yet' }, pause: 0 });
  const failed = await runCli(runArgs(box, 'context.asl.json', failing, ...registered('--status-change-event', eventFile)), { env: ENV });
  assert.equal(failed.code, 1, failed.stderr);
  const failedEvent = JSON.parse(await readFile(eventFile, 'utf8'));
  assert.deepEqual(
    [failedEvent.detail.status, failedEvent.detail.error, JSON.parse(failedEvent.detail.cause).errorMessage],
    ['FAILED', 'NotReady', 'not yet'],
  );
});

test('SIGINT: the execution and the nested one it waits for are reported ABORTED before the runner exits', async (t) => {
  const box = await sandbox(t, []);
  const eventFile = path.join(box.dir, 'event.json');
  let sent = false;
  const { code, stderr } = await runCli(
    ['--definition', fixture('sync-parent.asl.json'), '--state-machine', `child=${fixture('sync-child.asl.json')}`, '--real-waits',
      '--input', '-', ...registered('--execution-name', 'reg-interrupted', '--status-change-event', eventFile)],
    {
      env: ENV,
      stdin: JSON.stringify({ name: 'reg-interrupted-child', value: 'wait' }),
      onStderr: (text, child) => {
        if (!sent && text.includes('▶ child/Pause')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    },
  );
  assert.ok(sent, stderr);
  assert.equal(code, 130, stderr);
  assert.equal((await describe(`${ARN}:execution:sync-parent:reg-interrupted`)).status, 'ABORTED');
  assert.equal((await describe(`${ARN}:execution:child:reg-interrupted-child`)).status, 'ABORTED');
  assert.equal(JSON.parse(await readFile(eventFile, 'utf8')).detail.status, 'ABORTED');
});

test("nested .sync:2 children are registered under their --state-machine name, whose ARN fills ${<Name>StateMachineArn}", async (t) => {
  const box = await sandbox(t, []);
  const run = (input) =>
    runCli(['--definition', fixture('sync-parent.asl.json'), '--state-machine', `child=${fixture('sync-child.asl.json')}`, '--input', '-', ...registered()], {
      env: ENV,
      stdin: JSON.stringify(input),
    });
  const ok = await run({ name: 'reg-child', value: 'registered' });
  assert.equal(ok.code, 0, ok.stderr);
  const { child } = JSON.parse(ok.stdout);
  assert.equal(child.StateMachineArn, `${ARN}:stateMachine:child`);
  assert.equal(child.ExecutionArn, `${ARN}:execution:child:reg-child`);
  assert.equal(child.Output.executionId, child.ExecutionArn);
  assert.match(child.Input.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID, new RegExp(`^${ARN}:execution:sync-parent:local-`));
  const described = await describe(child.ExecutionArn);
  assert.equal(described.status, 'SUCCEEDED');
  assert.deepEqual(JSON.parse(described.output), child.Output);
  assert.deepEqual(await history(child.ExecutionArn), ['ExecutionStarted', 'ChoiceStateEntered:What', 'PassStateEntered:Answer', 'ExecutionSucceeded']);

  const failed = await run({ name: 'reg-child-failed', value: 'fail' });
  assert.equal(failed.code, 0, failed.stderr);
  assert.equal(JSON.parse(failed.stdout).error.Error, 'States.TaskFailed');
  const failure = await describe(`${ARN}:execution:child:reg-child-failed`);
  assert.deepEqual([failure.status, failure.error, failure.cause], ['FAILED', 'ChildFailed', 'the child was asked to fail']);

  // The same name again: StartExecution fails as in AWS, and the Task with it (States.TaskFailed
  // matches every error but States.Timeout, so the parent's Catch takes it).
  const taken = await run({ name: 'reg-child', value: 'registered' });
  assert.equal(taken.code, 0, taken.stderr);
  const { error } = JSON.parse(taken.stdout);
  assert.equal(error.Error, 'StepFunctions.ExecutionAlreadyExistsException');
  assert.match(error.Cause, /^Execution Already Exists: '.*:execution:child:reg-child' \(Service: AWSStepFunctions; /);
});

/** A sandbox whose fake Lambda binary serves every function of statemachine/functions.json. */
async function refreshSandbox(t) {
  const functions = JSON.parse(await readFile(path.join(repoRoot, 'statemachine', 'functions.json'), 'utf8'));
  return sandbox(t, [...new Set(Object.values(functions))]);
}

test('scripts/refresh-local: a copy of the refresh whose TimeoutSeconds passes writes a TIMED_OUT event; repair-local takes it', async (t) => {
  const box = await refreshSandbox(t);
  const refresh = JSON.parse(await readFile(path.join(repoRoot, 'statemachine', 'refresh.asl.json'), 'utf8'));
  const definition = await box.json('refresh.asl.json', { ...refresh, TimeoutSeconds: 1 });
  // CheckInput gets the input as its payload: the fake function sleeps longer than the execution may run.
  const input = await box.json('input.json', { sleepMs: 5000 });
  const eventFile = path.join(box.dir, 'event.json');
  const timedOut = await runScript(
    'refresh-local',
    ['--input', input, '--endpoint', emulator.url, '--binary', box.binary, '--definition', definition,
      '--execution-name', 'reg-refresh-timed-out', '--status-change-event', eventFile],
    { env: ENV },
  );
  assert.equal(timedOut.code, 1, timedOut.stderr);
  assert.match(timedOut.stderr, /^error: States.Timeout: /m);
  const executionArn = `${ARN}:execution:refresh:reg-refresh-timed-out`;
  assert.equal((await describe(executionArn)).status, 'TIMED_OUT');
  const event = JSON.parse(await readFile(eventFile, 'utf8'));
  assert.deepEqual(
    [event.detail.status, event.detail.executionArn, event.detail.stateMachineArn, event.detail.error, event.detail.cause, event.detail.input],
    ['TIMED_OUT', executionArn, `${ARN}:stateMachine:refresh`, null, null, '{"sleepMs":5000}'],
  );

  // The repair (a stand-in for statemachine/repair.asl.json) re-runs the refresh (a stand-in too)
  // nested, as state machine `refresh`, on the input of the execution that timed out.
  const repaired = await runScript(
    'repair-local',
    ['--event', eventFile, '--endpoint', emulator.url, '--binary', box.binary, '--execution-name', 'reg-repair',
      '--definition', fixture('repair-stub.asl.json'), '--refresh-definition', fixture('refresh-stub.asl.json')],
    { env: ENV },
  );
  assert.equal(repaired.code, 0, repaired.stderr);
  const { rerun } = JSON.parse(repaired.stdout);
  const rerunArn = `${ARN}:execution:refresh:reg-refresh-timed-out-rerun`;
  assert.deepEqual(rerun, {
    status: 'SUCCEEDED',
    output: { refreshed: { sleepMs: 5000 }, executionId: rerunArn },
    executionArn: rerunArn,
    stateMachineArn: `${ARN}:stateMachine:refresh`,
  });
  assert.match(repaired.stderr, /^▶ refresh\/Refreshed$/m);
  assert.equal((await describe(`${ARN}:execution:repair-stub:reg-repair`)).status, 'SUCCEEDED');
  assert.equal((await describe(rerunArn)).status, 'SUCCEEDED');

  // refresh-local's --abort-after reaches the runner.
  const aborted = await runScript(
    'refresh-local',
    ['--input', input, '--endpoint', emulator.url, '--binary', box.binary, '--definition', definition, '--abort-after', 'Nope'],
    { env: ENV },
  );
  assert.equal(aborted.code, 2);
  assert.match(aborted.stderr, /--abort-after Nope: the definition has no state of that name/);
});

// Last: it makes the emulator forget everything.
test('a report the emulator refuses is a setup error, told on stderr after the outcome', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { poll: { sleepMs: 1000, return: 'late' }, pause: 0 });
  let reset = null;
  const { code, stdout, stderr } = await runCli(runArgs(box, 'context.asl.json', input, ...registered('--execution-name', 'reg-forgotten', '--function-logs')), {
    env: ENV,
    onStderr: (text) => {
      // The function has the invocation: the emulator forgets the execution before the run ends.
      if (!reset && text.includes('"message":"invoked"')) reset = fetch(`${emulator.url}/_emulator/reset`, { method: 'POST' });
    },
  });
  assert.ok(reset, stderr);
  assert.equal((await reset).status, 200);
  assert.equal(code, 2, stderr);
  assert.equal(JSON.parse(stdout).polled, 'late');
  assert.match(stderr, new RegExp(`^run.mjs: cannot report the end of ${ARN}:execution:context:reg-forgotten \\(SUCCEEDED\\) to the emulator: HTTP 404 `, 'm'));
  assert.doesNotMatch(stderr, /internal error/);
});
