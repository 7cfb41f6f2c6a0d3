// --abort-after: a Task's work takes effect, then the execution is stopped as StopExecution stops
// it: no Retry, no Catch, no further state, status ABORTED.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { readEvents, runArgs, runCli, sandbox } from './helpers.mjs';

/** The functions the fake functions logged as invoked in `file`, in order. */
async function invoked(file) {
  const lines = (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
  return lines.filter((l) => l.message === 'invoked').map((l) => l.function);
}

test('the work is done, then the execution ends ABORTED: no Catch, no further state', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  const events = path.join(box.dir, 'events.jsonl');
  const logs = path.join(box.dir, 'functions.log');
  // Second catches States.ALL into Handled; an abort is no state error, so nothing catches it.
  const { code, stdout, stderr } = await runCli(
    runArgs(box, 'fail-after.asl.json', input, '--abort-after', 'Second', '--events', events, '--function-log-file', logs),
  );
  assert.equal(code, 1, stderr);
  assert.equal(stdout, '');
  assert.match(stderr, /^error: aborted after Second: /m);
  assert.deepEqual(await invoked(logs), ['echo-function', 'poll-function']);

  const all = await readEvents(events);
  assert.deepEqual(
    all.map((e) => [e.type, e.state ?? null]),
    [
      ['ExecutionStarted', null],
      ['StateEntered', 'First'], ['StateExited', 'First'],
      ['StateEntered', 'Second'],
      ['ExecutionAborted', null],
    ],
  );
  assert.doesNotMatch(stderr, /Handled|Done|caught/);
});

test('only the first completion stops it; a state before it and other states run as usual', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  // First fails once (--fail-after) and is retried; the abort comes after its retry succeeds.
  const { code, stderr } = await runCli(runArgs(box, 'fail-after.asl.json', input, '--fail-after', 'First', '--abort-after', 'First'));
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^↻ First retry 1 after Local.InjectedFailure/m);
  assert.match(stderr, /^error: aborted after First: /m);
  assert.doesNotMatch(stderr, /▶ Second/);
});

test('--abort-after names a Task state of the definition, or it is a setup error', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  const unknown = await runCli(runArgs(box, 'fail-after.asl.json', input, '--abort-after', 'Nope'), { state: box.state });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--abort-after Nope: the definition has no state of that name/);
  assert.deepEqual(await box.pids(), []); // nothing ran

  const pass = await runCli(runArgs(box, 'fail-after.asl.json', input, '--abort-after', 'Handled'));
  assert.equal(pass.code, 2);
  assert.match(pass.stderr, /--abort-after Handled: a Pass state, not a Task/);
});

test('--register-execution needs --endpoint, --status-change-event needs --register-execution', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  let result = await runCli(runArgs(box, 'single.asl.json', input, '--register-execution'));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--register-execution needs --endpoint/);

  result = await runCli(runArgs(box, 'single.asl.json', input, '--endpoint', 'http://127.0.0.1:9', '--status-change-event', path.join(box.dir, 'e.json')));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--status-change-event needs --register-execution/);

  // Nothing answers there: a setup error before anything runs.
  result = await runCli(runArgs(box, 'single.asl.json', input, '--endpoint', 'http://127.0.0.1:9', '--register-execution'), { state: box.state });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--register-execution: cannot reach the Step Functions API at http:\/\/127\.0\.0\.1:9/);
  assert.deepEqual(await box.pids(), []);
});
