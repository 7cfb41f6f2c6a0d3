// --fail-after: a Task's work takes effect, then its state fails once with Local.InjectedFailure.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { readEvents, runArgs, runCli, sandbox } from './helpers.mjs';

/** The events the fake functions logged to `file`, as [function, event]. */
async function invocations(file) {
  const lines = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  return lines.filter((l) => l.message === 'invoked').map((l) => [l.function, l.event]);
}

test('the function runs, then the state fails with Local.InjectedFailure', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', { hello: 'once' });
  const events = path.join(box.dir, 'events.jsonl');
  const logs = path.join(box.dir, 'functions.log');
  const { code, stdout, stderr } = await runCli(
    runArgs(box, 'single.asl.json', input, '--fail-after', 'Call', '--events', events, '--function-log-file', logs),
  );
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(stderr, /^✗ Call failed: Local.InjectedFailure$/m);
  assert.match(stderr, /^error: Local.InjectedFailure: injected failure after Call$/m);
  // The invocation happened and succeeded: only its result was lost.
  assert.deepEqual(await invocations(logs), [['echo-function', { hello: 'once' }]]);
  const failed = (await readEvents(events)).filter((e) => e.type === 'StateFailed');
  assert.deepEqual(
    failed.map((e) => [e.state, e.error, e.cause]),
    [['Call', 'Local.InjectedFailure', 'injected failure after Call']],
  );
});

test('only the first completion fails: the retry succeeds; a States.ALL Catch routes it', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  const logs = path.join(box.dir, 'functions.log');
  const { code, stdout, stderr } = await runCli(
    runArgs(box, 'fail-after.asl.json', input, '--fail-after', 'First', '--fail-after', 'Second', '--function-log-file', logs),
  );
  assert.equal(code, 0, stderr);
  const output = JSON.parse(stdout);
  // The retry reached the same warm process: its second invocation.
  assert.deepEqual(output.first, { invocation: 2 });
  assert.equal(stderr.match(/^↻ First retry/gm).length, 1);
  assert.match(stderr, /^↻ First retry 1 after Local.InjectedFailure: injected failure after First$/m);

  assert.equal(output.second, undefined);
  assert.deepEqual(output.error, { Error: 'Local.InjectedFailure', Cause: 'injected failure after Second' });
  assert.equal(output.handled, 'handled');
  assert.match(stderr, /^⤷ caught Local.InjectedFailure in Second -> Handled$/m);
  assert.deepEqual(
    (await invocations(logs)).map(([name]) => name),
    ['echo-function', 'echo-function', 'poll-function'],
  );
});

test('without --fail-after nothing is injected', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  const { code, stdout, stderr } = await runCli(runArgs(box, 'fail-after.asl.json', input));
  assert.equal(code, 0, stderr);
  const output = JSON.parse(stdout);
  assert.deepEqual([output.first, output.second, output.handled], [{ invocation: 1 }, 'second', undefined]);
});

test('--fail-after names a Task state of the definition, or it is a setup error', async (t) => {
  const box = await sandbox(t);
  const input = await box.json('input.json', {});
  const unknown = await runCli(runArgs(box, 'fail-after.asl.json', input, '--fail-after', 'First', '--fail-after', 'Nope'), {
    state: box.state,
  });
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(unknown.stderr, /--fail-after Nope: the definition has no state of that name/);
  assert.deepEqual(await box.pids(), []); // nothing ran

  const pass = await runCli(runArgs(box, 'fail-after.asl.json', input, '--fail-after', 'Handled'));
  assert.equal(pass.code, 2);
  assert.match(pass.stderr, /--fail-after Handled: a Pass state, not a Task/);
});
