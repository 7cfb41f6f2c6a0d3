// Function processes: crashes, timeouts, signals, and the setup errors that stop a run early.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { alive, FUNCTIONS, fixture, readEvents, runArgs, runCli, sandbox } from './helpers.mjs';

test('a crashed function fails with Lambda.Unknown and the next invoke starts a new process', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { exit: 3, times: 1 });
  const events = path.join(box.dir, 'events.jsonl');
  const { code, stdout, stderr } = await runCli(runArgs(box, 'single.asl.json', input, '--events', events), {
    state: box.state,
  });
  assert.equal(code, 0, stderr);
  const failed = (await readEvents(events)).find((e) => e.type === 'StateFailed');
  assert.equal(failed.error, 'Lambda.Unknown');
  assert.match(failed.cause, /"errorType":"Runtime.ExitError".*Runtime exited with error: exit status 3/);
  assert.match(stderr, /^↻ Call retry 1 after Lambda.Unknown: /m);

  const pids = await box.pids();
  assert.equal(pids.length, 2);
  assert.ok(pids.includes(JSON.parse(stdout).pid));
  assert.deepEqual(pids.filter(alive), []);
});

test('a function that fails its init fails the invocation with Lambda.Unknown', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  const { code, stderr } = await runCli(runArgs(box, 'single.asl.json', input), {
    state: box.state,
    env: { FAKE_INIT_ERROR: 'no region configured' },
  });
  assert.equal(code, 1);
  assert.match(stderr, /^error: Lambda.Unknown: .*\{"errorType":"ConfigError","errorMessage":"no region configured"\}$/m);
  const pids = await box.pids();
  assert.equal(pids.length, 2); // the retry got a fresh environment
  assert.deepEqual(pids.filter(alive), []);
});

test('a Task that overruns TimeoutSeconds fails with States.Timeout and its process is stopped', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { source: {}, poll: { sleepMs: 30000 } });
  const started = Date.now();
  const { code, stderr } = await runCli(runArgs(box, 'basic.asl.json', input), { state: box.state });
  assert.equal(code, 1);
  assert.ok(Date.now() - started < 10000);
  assert.match(stderr, /^error: States.Timeout: /m);
  assert.deepEqual((await box.pids()).filter(alive), []);
});

for (const [signal, expected] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  test(`${signal} aborts the execution, stops every function process and exits ${expected}`, async (t) => {
    const box = await sandbox(t);
    const input = await box.json('input.json', { sleepMs: 30000 });
    let sent = false;
    const { code, stderr } = await runCli(runArgs(box, 'single.asl.json', input, '--function-logs'), {
      state: box.state,
      // The function logs its event when the invocation has reached it.
      onStderr: (text, child) => {
        if (!sent && text.includes('"message":"invoked"')) {
          sent = true;
          child.kill(signal);
        }
      },
    });
    assert.ok(sent, stderr);
    assert.equal(code, expected, stderr);
    const pids = await box.pids();
    assert.equal(pids.length, 1);
    assert.deepEqual(pids.filter(alive), []);
  });
}

test('an unknown placeholder is a setup error: exit 2 before anything runs', async (t) => {
  const box = await sandbox(t);
  const functions = await box.json('functions.json', { EchoFunctionArn: 'echo-function' });
  const args = ['--definition', fixture('basic.asl.json'), '--functions', functions, '--binary', box.binary];
  const { code, stdout, stderr } = await runCli(args, { state: box.state });
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /unknown placeholder\(s\) \$\{PollFunctionArn\}/);
  assert.deepEqual(await box.pids(), []);
});

test('a missing or non-executable --binary is a setup error, before any function starts', async (t) => {
  const box = await sandbox(t);
  for (const binary of [path.join(box.dir, 'nope'), fixture('functions.json'), box.dir]) {
    const args = ['--definition', fixture('basic.asl.json'), '--functions', FUNCTIONS, '--binary', binary];
    const { code, stdout, stderr } = await runCli(args, { state: box.state });
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.ok(
      stderr.includes(`run.mjs: the Lambda binary ${binary} (--binary) is missing or not an executable file: build it first`),
      stderr,
    );
  }
  assert.deepEqual(await box.pids(), []);
});

test('every function runs the one binary with _HANDLER = its name; a handler it does not serve fails its init', async (t) => {
  // The binary serves echo-function only: Invoke and Direct run, Poll's function fails its init,
  // which Lambda reports as Lambda.Unknown (Runtime.ExitError: the process exited during init).
  const box = await sandbox(t, ['echo-function']);
  const input = await box.json('input.json', { source: {}, poll: {} });
  const { code, stderr } = await runCli(runArgs(box, 'basic.asl.json', input, '--function-logs'), { state: box.state });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^✓ Direct /m);
  assert.match(stderr, /^ {2}poll-function: Error: unknown handler "poll-function" \(the function's Handler, _HANDLER\): this binary serves echo-function$/m);
  assert.match(stderr, /^error: Lambda\.Unknown: .*"errorType":"Runtime\.ExitError".*Runtime exited with error: exit status 1/m);
  const pids = await box.pids();
  assert.equal(pids.length, 2); // echo-function (warm for both calls) and the poll-function that failed
  assert.deepEqual(pids.filter(alive), []);
});

test('bad flags, missing files and resources that cannot run locally are setup errors', async (t) => {
  const box = await sandbox(t);
  const bad = await runCli(['--definition', fixture('basic.asl.json'), '--wait-ms', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--wait-ms must be/);
  assert.match(bad.stderr, /^usage: /m);

  const missing = await runCli(runArgs(box, 'basic.asl.json', path.join(box.dir, 'nope.json')));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read input .*nope\.json: ENOENT/);

  const sns = await box.json('sns.asl.json', {
    StartAt: 'Notify',
    States: { Notify: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { Message: 'hi', TopicArn: 'arn:aws:sns:us-east-1:000000000000:t' }, End: true } },
  });
  const noEndpoint = await runCli(['--definition', sns, '--binary', box.binary]);
  assert.equal(noEndpoint.code, 2);
  assert.match(noEndpoint.stderr, /state Notify: Resource "arn:aws:states:::sns:publish" cannot run locally without --endpoint/);

  const sqs = await box.json('sqs.asl.json', {
    StartAt: 'Send',
    States: { Send: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', Parameters: { QueueUrl: 'q', MessageBody: 'hi' }, End: true } },
  });
  const unsupported = await runCli(['--definition', sqs, '--binary', box.binary, '--endpoint', 'http://127.0.0.1:9']);
  assert.equal(unsupported.code, 2);
  assert.match(unsupported.stderr, /state Send: Resource "arn:aws:states:::sqs:sendMessage" cannot run locally/);

  const badEndpoint = await runCli(['--definition', sns, '--binary', box.binary, '--endpoint', '127.0.0.1:9']);
  assert.equal(badEndpoint.code, 2);
  assert.match(badEndpoint.stderr, /--endpoint must be an http:\/\/ or https:\/\/ URL/);
});

test('a function the definition does not know fails like Lambda: ResourceNotFoundException', async (t) => {
  const box = await sandbox(t);
  const definition = await box.json('dynamic.asl.json', {
    StartAt: 'Call',
    States: {
      Call: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { 'FunctionName.$': '$.name', Payload: {} },
        End: true,
      },
    },
  });
  const args = ['--definition', definition, '--functions', FUNCTIONS, '--binary', box.binary];
  const known = await runCli([...args, '--input', '-'], { stdin: '{"name": "echo-function"}' });
  assert.equal(known.code, 0, known.stderr);
  assert.equal(JSON.parse(known.stdout).StatusCode, 200);

  const unknown = await runCli([...args, '--input', '-'], { stdin: '{"name": "nope"}' });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: Lambda.ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope$/m);
  await fs.rm(definition);
});
