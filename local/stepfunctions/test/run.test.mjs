// run.mjs end to end: real interpreter, real processes speaking the Lambda Runtime API.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { SetupError } from '../lib/definition.mjs';
import { accessKeyIds, functionEnv } from '../lib/lambda.mjs';
import { alive, FUNCTIONS, readEvents, runArgs, runCli, sandbox } from './helpers.mjs';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';

test('lambda:invoke wraps the result in Payload, a bare function ARN does not, and the Wait is shortened', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { source: { id: 'x' }, poll: { fail: 'NotReady', times: 2 } });
  const started = Date.now();
  const { code, stdout, stderr } = await runCli(runArgs(box, 'basic.asl.json', input, '--endpoint', 'http://127.0.0.1:9'), {
    state: box.state,
    env: { FAKE_INHERITED: 'yes', AWS_ACCESS_KEY_ID: 'mine' },
  });
  assert.equal(code, 0, stderr);
  // A 3600 s Wait and 30 s retry intervals, shortened to 10 ms each.
  assert.ok(Date.now() - started < 10000);

  const output = JSON.parse(stdout);
  const { invoked, direct } = output;
  assert.deepEqual(invoked.echo, { source: { id: 'x' } });
  assert.equal(invoked.statusCode, 200);
  assert.equal(invoked.executedVersion, '$LATEST');
  assert.equal(invoked.context.invokedFunctionArn, `${ARN}echo-function`);
  assert.match(invoked.context.requestId, /^[0-9a-f-]{36}$/);
  assert.match(invoked.context.traceId, /^Root=1-/);
  assert.ok(invoked.context.deadlineMs > started);
  assert.deepEqual(invoked.env, {
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'mine', // inherited values win over the dummy ones
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/echo-function',
    _HANDLER: 'echo-function', // the one binary's dispatch: the function's name
    FAKE_INHERITED: 'yes',
  });
  // The bare ARN gets the unwrapped result; the same warm process answered both calls.
  assert.deepEqual(direct, { echo: { again: { id: 'x' } }, pid: invoked.pid, invocation: 2 });
  assert.equal(output.polled.invocation, 3);

  assert.match(stderr, /^▶ Invoke$/m);
  assert.match(stderr, /^✓ Invoke \(\d+\.\d\d s\)$/m);
  assert.match(stderr, /^↻ Poll retry 1 after NotReady: NotReady \(invocation 1\)$/m);
  assert.match(stderr, /^↻ Poll retry 2 after NotReady: NotReady \(invocation 2\)$/m);
});

test('the events file records every state in order, with retries and their errors', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { source: {}, poll: { fail: 'NotReady', times: 2 } });
  const events = path.join(box.dir, 'events.jsonl');
  const { code, stderr } = await runCli(runArgs(box, 'basic.asl.json', input, '--events', events), { state: box.state });
  assert.equal(code, 0, stderr);

  const all = await readEvents(events);
  assert.deepEqual(
    all.map((e) => [e.type, e.state ?? null]),
    [
      ['ExecutionStarted', null],
      ['StateEntered', 'Invoke'], ['StateExited', 'Invoke'],
      ['StateEntered', 'Pause'], ['StateExited', 'Pause'],
      ['StateEntered', 'Direct'], ['StateExited', 'Direct'],
      ['StateEntered', 'Poll'],
      ['StateFailed', 'Poll'], ['StateRetried', 'Poll'],
      ['StateFailed', 'Poll'], ['StateRetried', 'Poll'],
      ['StateExited', 'Poll'],
      ['StateEntered', 'Done'], ['StateExited', 'Done'],
      ['ExecutionSucceeded', null],
    ],
  );
  for (const e of all) {
    assert.ok(!Number.isNaN(Date.parse(e.timestamp)));
    assert.equal(typeof e.elapsedMs, 'number');
  }
  const retries = all.filter((e) => e.type === 'StateRetried');
  assert.deepEqual(retries.map((e) => e.attempt), [1, 2]);
  assert.deepEqual(retries[0].errorEquals, ['NotReady']);
  assert.equal(retries[0].error, 'NotReady');
  assert.deepEqual(JSON.parse(retries[0].cause), { errorType: 'NotReady', errorMessage: 'NotReady (invocation 1)' });
  const failed = all.find((e) => e.type === 'StateFailed');
  assert.equal(failed.error, 'NotReady');
  assert.equal(failed.stateType, 'Task');
  const pause = all.find((e) => e.type === 'StateExited' && e.state === 'Pause');
  assert.ok(pause.durationMs < 1000, `Pause took ${pause.durationMs} ms`);
  const invoke = all.find((e) => e.type === 'StateExited' && e.state === 'Invoke');
  assert.deepEqual(invoke.input, { source: {}, poll: { fail: 'NotReady', times: 2 } });
  assert.deepEqual(invoke.output.invoked.echo, { source: {} });
  assert.equal(all.at(-1).output.polled.invocation, 3);
});

test("a function's errorType reaches Catch, with AWS's Error and Cause", async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { source: {}, poll: { fail: 'Throttled', message: 'slow down' } });
  const events = path.join(box.dir, 'events.jsonl');
  const { code, stdout, stderr } = await runCli(runArgs(box, 'basic.asl.json', input, '--events', events), { state: box.state });
  assert.equal(code, 0, stderr);
  const output = JSON.parse(stdout);
  assert.equal(output.handled, 'handled');
  assert.equal(output.error.Error, 'Throttled');
  assert.deepEqual(JSON.parse(output.error.Cause), { errorType: 'Throttled', errorMessage: 'slow down' });
  assert.match(stderr, /^⤷ caught Throttled in Poll -> Handled$/m);

  const caught = (await readEvents(events)).find((e) => e.type === 'StateCaught');
  assert.deepEqual(
    { state: caught.state, error: caught.error, next: caught.next, errorEquals: caught.errorEquals },
    { state: 'Poll', error: 'Throttled', next: 'Handled', errorEquals: ['Throttled'] },
  );
});

test('an uncaught function error fails the execution: exit 1 and "error: Name: cause"', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { source: {}, poll: { fail: 'Boom', message: 'it broke' } });
  const { code, stdout, stderr } = await runCli(runArgs(box, 'basic.asl.json', input), { state: box.state });
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(stderr, /^✗ Poll failed: Boom$/m);
  // The cause AWS gives for a Lambda error is its JSON payload; the last line shows its message.
  assert.match(stderr, /^error: Boom: it broke$/m);
});

test('retries stop at MaxAttempts', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { source: {}, poll: { fail: 'NotReady' } });
  const { code, stderr } = await runCli(runArgs(box, 'basic.asl.json', input), { state: box.state });
  assert.equal(code, 1);
  assert.equal(stderr.match(/^↻ Poll retry/gm).length, 3);
  assert.match(stderr, /^error: NotReady: .*NotReady \(invocation 4\)/m);
});

test('Task states in Parallel branches and Map iterations run, concurrent calls in separate processes', async (t) => {
  const box = await sandbox(t);
  const items = [1, 2, 3].map((item) => ({ item, sleepMs: 300 }));
  const input = await box.json('input.json', { items });
  const { code, stdout, stderr } = await runCli(runArgs(box, 'nested.asl.json', input), { state: box.state });
  assert.equal(code, 0, stderr);
  const [mapped, other] = JSON.parse(stdout);
  assert.deepEqual(mapped.map((r) => r.item), [1, 2, 3]);
  assert.equal(new Set(mapped.map((r) => r.pid)).size, 3);
  assert.equal(other, 'other');
  assert.match(stderr, /^✓ Each \[2\] /m);
  assert.equal((await box.pids()).length, 4);
});

test('--real-waits keeps the Wait state times', async (t) => {
  const box = await sandbox(t, []);
  const definition = await box.json('wait.asl.json', {
    StartAt: 'Pause',
    States: { Pause: { Type: 'Wait', Seconds: 1, End: true } },
  });
  const args = ['--definition', definition, '--binary', box.binary, '--real-waits'];
  const started = Date.now();
  const { code, stdout, stderr } = await runCli(args);
  assert.equal(code, 0, stderr);
  assert.ok(Date.now() - started >= 1000);
  assert.deepEqual(JSON.parse(stdout), {});
});

test('the input can come from stdin', async (t) => {
  const box = await sandbox(t);
  const { code, stdout, stderr } = await runCli(runArgs(box, 'single.asl.json', '-'), { stdin: '{"hello": "world"}' });
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout).echo, { hello: 'world' });
});

test('function logs go to a file with --function-log-file', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { hello: 'logs' });
  const logFile = path.join(box.dir, 'functions.log');
  const { code, stderr } = await runCli(runArgs(box, 'single.asl.json', input, '--function-log-file', logFile));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /invoked/);
  const lines = (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.message, l.function, l.event]), [['invoked', 'echo-function', { hello: 'logs' }]]);

  const shown = await runCli(runArgs(box, 'single.asl.json', input, '--function-logs'));
  assert.match(shown.stderr, /^ {2}echo-function: \{"level":"INFO","message":"invoked"/m);
});

test('every function process is gone after the run', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { source: {}, poll: { fail: 'NotReady', times: 1 } });
  const { code, stderr } = await runCli(runArgs(box, 'basic.asl.json', input), { state: box.state });
  assert.equal(code, 0, stderr);
  const pids = await box.pids();
  assert.equal(pids.length, 2); // echo-function and poll-function, each started once and kept warm
  assert.deepEqual(pids.filter(alive), []);
});

test('--access-key-per-function: each function process has its logical name as AWS_ACCESS_KEY_ID', async (t) => {
  const box = await sandbox(t, ['echo-function', 'poll-function', 'other-function']);
  const keys = { 'key.$': '$.env.AWS_ACCESS_KEY_ID', 'secret.$': '$.env.AWS_SECRET_ACCESS_KEY' };
  const task = (resource) => ({ Type: 'Task', Resource: resource, ResultSelector: keys });
  const definition = await box.json('keys.asl.json', {
    StartAt: 'Echo',
    States: {
      Echo: { ...task('${EchoFunctionArn}'), ResultPath: '$.echo', Next: 'Poll' },
      Poll: { ...task('${PollFunctionArn}'), ResultPath: '$.poll', Next: 'Literal' },
      // A function ARN written out, with no placeholder: it goes by its binary name.
      Literal: { ...task(`${ARN}other-function`), ResultPath: '$.literal', End: true },
    },
  });
  const args = ['--definition', definition, '--functions', FUNCTIONS, '--binary', box.binary];
  const env = { AWS_ACCESS_KEY_ID: 'mine', AWS_SECRET_ACCESS_KEY: 'secret' };

  const perFunction = await runCli([...args, '--access-key-per-function'], { env });
  assert.equal(perFunction.code, 0, perFunction.stderr);
  assert.deepEqual(JSON.parse(perFunction.stdout), {
    echo: { key: 'EchoFunction', secret: 'secret' },
    poll: { key: 'PollFunction', secret: 'secret' },
    literal: { key: 'other-function', secret: 'secret' },
  });

  const shared = await runCli(args, { env });
  assert.equal(shared.code, 0, shared.stderr);
  assert.deepEqual(Object.values(JSON.parse(shared.stdout)).map((r) => r.key), ['mine', 'mine', 'mine']);
});

test('accessKeyIds: the placeholder without Arn; two placeholders for one function cannot be told apart', () => {
  assert.deepEqual(
    accessKeyIds({ RenameTargetFunctionArn: 'rename-target', Other: 'other' }),
    new Map([['rename-target', 'RenameTargetFunction'], ['other', 'Other']]),
  );
  assert.throws(() => accessKeyIds({ AFunctionArn: 'same', BFunctionArn: 'same' }), (error) => {
    assert.ok(error instanceof SetupError);
    assert.match(error.message, /AFunctionArn and BFunctionArn both name the function same/);
    return true;
  });
  const env = functionEnv('rename-target', { baseEnv: { AWS_ACCESS_KEY_ID: 'mine' }, accessKeyId: 'RenameTargetFunction' });
  assert.equal(env.AWS_ACCESS_KEY_ID, 'RenameTargetFunction');
  assert.equal(env.AWS_SECRET_ACCESS_KEY, 'test');
});
