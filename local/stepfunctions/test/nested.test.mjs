// states:startExecution.sync:2 and .sync: the child state machine runs here, nested, from the
// definition --state-machine gives for its name; the parent's Task gets what Step Functions
// returns (the child's DescribeExecution answer) or fails as it fails (States.TaskFailed).
// Without --register-execution the ARNs are made up; test/registration.test.mjs registers them.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { fixture, readEvents, runCli, sandbox } from './helpers.mjs';

const CHILD = `child=${fixture('sync-child.asl.json')}`;
const LOCAL = 'arn:aws:states:us-east-1:000000000000';

const run = (definition, input, ...more) =>
  runCli(['--definition', definition, '--state-machine', CHILD, '--input', '-', ...more], { stdin: JSON.stringify(input) });

/** A copy of sync-parent.asl.json with `change` applied to its StartChild state. */
async function parentWith(box, file, change) {
  const definition = JSON.parse(await readFile(fixture('sync-parent.asl.json'), 'utf8'));
  change(definition.States.StartChild, definition);
  return box.json(file, definition);
}

test(".sync:2: the child's Output and Input arrive parsed, in the answer DescribeExecution gives", async (t) => {
  const box = await sandbox(t, []);
  const events = path.join(box.dir, 'events.jsonl');
  const { code, stdout, stderr } = await run(fixture('sync-parent.asl.json'), { name: 'child-1', value: 'hello' }, '--events', events);
  assert.equal(code, 0, stderr);
  const { child } = JSON.parse(stdout);
  const parentArn = child.Input.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID;
  assert.match(parentArn, new RegExp(`^${LOCAL}:execution:sync-parent:local-`));
  assert.deepEqual(Object.keys(child), [
    'ExecutionArn', 'Input', 'InputDetails', 'Name', 'Output', 'OutputDetails', 'RedriveCount', 'RedriveStatus',
    'RedriveStatusReason', 'StartDate', 'StateMachineArn', 'Status', 'StopDate',
  ]);
  assert.deepEqual(child, {
    ...child,
    ExecutionArn: `${LOCAL}:execution:child:child-1`,
    Input: { value: 'hello', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parentArn },
    InputDetails: { Included: true },
    Name: 'child-1',
    Output: { got: 'hello', startedBy: parentArn, executionId: `${LOCAL}:execution:child:child-1`, executionName: 'child-1' },
    OutputDetails: { Included: true },
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
    RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
    StateMachineArn: `${LOCAL}:stateMachine:child`,
    Status: 'SUCCEEDED',
  });
  assert.ok(child.StartDate <= child.StopDate && child.StartDate > Date.now() - 60000, JSON.stringify(child));

  // One events file: the child's records marked and its states prefixed, inside the parent's Task.
  const all = await readEvents(events);
  assert.deepEqual(
    all.map((e) => [e.type, e.state ?? null, e.nested ?? null]),
    [
      ['ExecutionStarted', null, null],
      ['StateEntered', 'StartChild', null],
      ['ExecutionStarted', null, 'child'],
      ['StateEntered', 'child/What', 'child'], ['StateExited', 'child/What', 'child'],
      ['StateEntered', 'child/Answer', 'child'], ['StateExited', 'child/Answer', 'child'],
      ['ExecutionSucceeded', null, 'child'],
      ['StateExited', 'StartChild', null],
      ['StateEntered', 'Done', null], ['StateExited', 'Done', null],
      ['ExecutionSucceeded', null, null],
    ],
  );
  assert.match(stderr, /^▶ StartChild\n▶ child\/What\n/m);
});

test('.sync: the same answer, Input and Output as JSON text; without Name the child gets a UUID', async (t) => {
  const box = await sandbox(t, []);
  const definition = await parentWith(box, 'sync.asl.json', (state) => {
    state.Resource = 'arn:aws:states:::states:startExecution.sync';
    delete state.Parameters['Name.$'];
  });
  const { code, stdout, stderr } = await run(definition, { value: 'text' });
  assert.equal(code, 0, stderr);
  const { child } = JSON.parse(stdout);
  assert.match(child.Name, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(typeof child.Input, 'string');
  assert.equal(JSON.parse(child.Input).value, 'text');
  assert.equal(typeof child.Output, 'string');
  assert.equal(JSON.parse(child.Output).got, 'text');
  assert.equal(JSON.parse(child.Output).executionId, `${LOCAL}:execution:child:${child.Name}`);
});

test('a child that fails fails the Task with States.TaskFailed, its DescribeExecution answer as the cause', async (t) => {
  const box = await sandbox(t, []);
  const { code, stdout, stderr } = await run(fixture('sync-parent.asl.json'), { name: 'failing', value: 'fail' });
  assert.equal(code, 0, stderr);
  const output = JSON.parse(stdout);
  assert.equal(output.handled, 'caught');
  assert.equal(output.error.Error, 'States.TaskFailed');
  const cause = JSON.parse(output.error.Cause);
  assert.deepEqual(Object.keys(cause), [
    'Cause', 'Error', 'ExecutionArn', 'Input', 'InputDetails', 'Name', 'RedriveCount', 'RedriveStatus', 'StartDate',
    'StateMachineArn', 'Status', 'StopDate',
  ]);
  assert.deepEqual(
    [cause.Status, cause.Error, cause.Cause, cause.ExecutionArn, cause.RedriveStatus],
    ['FAILED', 'ChildFailed', 'the child was asked to fail', `${LOCAL}:execution:child:failing`, 'REDRIVABLE'],
  );
  assert.match(stderr, /^✗ child\/Fail failed: ChildFailed$/m);
  assert.match(stderr, /^⤷ caught States.TaskFailed in StartChild -> ChildFailed$/m);

  // Without the Catch the parent fails with it.
  const uncaught = await parentWith(box, 'uncaught.asl.json', (state, definition) => {
    delete state.Catch;
    delete definition.States.ChildFailed;
  });
  const failed = await run(uncaught, { name: 'failing', value: 'fail' });
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^error: States.TaskFailed: \{"Cause":"the child was asked to fail","Error":"ChildFailed",/m);
});

test('a child that times out fails the Task with States.TaskFailed too; a Task that times out stops its child', async (t) => {
  const box = await sandbox(t, []);
  const child = JSON.parse(await readFile(fixture('sync-child.asl.json'), 'utf8'));
  const shortChild = await box.json('short-child.asl.json', { ...child, TimeoutSeconds: 1 });
  const timedOut = await runCli(
    ['--definition', fixture('sync-parent.asl.json'), '--state-machine', `child=${shortChild}`, '--real-waits', '--input', '-'],
    { stdin: JSON.stringify({ name: 'slow', value: 'wait' }) },
  );
  assert.equal(timedOut.code, 0, timedOut.stderr);
  const { error } = JSON.parse(timedOut.stdout);
  assert.equal(error.Error, 'States.TaskFailed');
  const cause = JSON.parse(error.Cause);
  assert.equal(cause.Status, 'TIMED_OUT');
  assert.equal(cause.Error, undefined); // a timed-out execution has no error (DescribeExecution)

  // The parent's Task gives up first (its TimeoutSeconds): the child is stopped, the Task fails States.Timeout.
  const impatient = await parentWith(box, 'impatient.asl.json', (state) => (state.TimeoutSeconds = 1));
  const events = path.join(box.dir, 'events.jsonl');
  const started = Date.now();
  const gaveUp = await run(impatient, { name: 'slow', value: 'wait' }, '--real-waits', '--events', events);
  assert.equal(gaveUp.code, 1, gaveUp.stderr);
  assert.ok(Date.now() - started < 10000);
  assert.match(gaveUp.stderr, /^error: States.Timeout: /m);
  const childEnd = (await readEvents(events)).filter((e) => e.nested === 'child' && e.type.startsWith('Execution')).map((e) => e.type);
  assert.deepEqual(childEnd, ['ExecutionStarted', 'ExecutionAborted']);
});

test('a .sync StartExecution of a state machine without --state-machine is a setup error before anything runs', async (t) => {
  const box = await sandbox(t, []);
  const events = path.join(box.dir, 'events.jsonl');
  let result = await runCli(['--definition', fixture('sync-parent.asl.json'), '--substitution', `ChildStateMachineArn=${LOCAL}:stateMachine:child`, '--events', events]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /state StartChild: Resource "arn:aws:states:::states:startExecution.sync:2" cannot run locally without a --state-machine child=DEFINITION_FILE/,
  );
  await assert.rejects(readFile(events), { code: 'ENOENT' }); // nothing ran

  // Another name than the definition's ARN names.
  result = await runCli(['--definition', fixture('sync-parent.asl.json'), '--state-machine', `other=${fixture('sync-child.asl.json')}`, '--substitution', `ChildStateMachineArn=${LOCAL}:stateMachine:child`]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /without a --state-machine child=DEFINITION_FILE/);

  // A child definition is checked as the parent is: its placeholders, its validity.
  const broken = await box.json('broken.asl.json', { StartAt: 'Nowhere', States: {} });
  result = await runCli(['--definition', fixture('sync-parent.asl.json'), '--state-machine', `child=${broken}`]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--state-machine child: .*broken\.asl\.json is not a valid state machine/);

  for (const bad of ['child', '=x', 'a b=x']) {
    result = await runCli(['--definition', fixture('sync-parent.asl.json'), '--state-machine', bad]);
    assert.equal(result.code, 2, bad);
    assert.match(result.stderr, /--state-machine .*expected NAME=DEFINITION_FILE/, bad);
  }

  // An ARN from a path is known only when the state is reached: then it stops the run the same way.
  const dynamic = await parentWith(box, 'dynamic.asl.json', (state) => {
    delete state.Parameters.StateMachineArn;
    state.Parameters['StateMachineArn.$'] = '$.machine';
  });
  result = await run(dynamic, { machine: `${LOCAL}:stateMachine:elsewhere`, name: 'n', value: 'v' });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /state StartChild starts an execution of state machine elsewhere .*which has no --state-machine elsewhere=DEFINITION_FILE/);
});
