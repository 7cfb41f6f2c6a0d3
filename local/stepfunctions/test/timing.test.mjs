// Waits and Retry pauses: flattened to a few ms by default, or scaled by --time-scale so that a
// local run keeps AWS's proportions.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { planTiming } from '../lib/timing.mjs';
import { FUNCTIONS, readEvents, runCli, sandbox } from './helpers.mjs';

// How much later than scheduled a timer may fire on a busy machine, and how much earlier
// (Node rounds to whole milliseconds).
const LATE_MS = 150;
const EARLY_MS = 2;

const inRange = (actual, expected, what) =>
  assert.ok(actual >= expected - EARLY_MS && actual <= expected + LATE_MS, `${what}: ${actual} ms, expected ~${expected} ms`);

/** A machine of one Task state polling poll-function with `payload`, retried by `retrier`. */
const pollMachine = (payload, retrier) => ({
  StartAt: 'Poll',
  States: {
    Poll: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: '${PollFunctionArn}', Payload: payload },
      TimeoutSeconds: 5,
      Retry: [{ ErrorEquals: ['NotReady'], ...retrier }],
      End: true,
    },
  },
});

/** Runs a definition (an object) in a sandbox; resolves with the run and its events. */
async function run(t, definition, ...args) {
  const box = await sandbox(t);
  const file = await box.json('machine.asl.json', definition);
  const events = path.join(box.dir, 'events.jsonl');
  const result = await runCli(['--definition', file, '--functions', FUNCTIONS, '--binary', box.binary, '--events', events, ...args]);
  return { ...result, events: await readEvents(events) };
}

/** Each retry's pause: from the StateFailed before it to the StateRetried (which comes after the pause). */
function pauses(events, state) {
  const found = [];
  let failedAt = null;
  for (const event of events.filter((e) => e.state === state)) {
    if (event.type === 'StateFailed') failedAt = event.elapsedMs;
    if (event.type === 'StateRetried') found.push(event.elapsedMs - failedAt);
  }
  return found;
}

const durationOf = (events, state) => events.find((e) => e.type === 'StateExited' && e.state === state)?.durationMs;

test('--time-scale: a Retry on a function that is ready only after 300 ms succeeds, with pauses F times the backoff', async (t) => {
  const machine = pollMachine({ fail: 'NotReady', forMs: 300 }, { IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 4 });
  const { code, stderr, events } = await run(t, machine, '--time-scale', '0.1');
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^◆ time scale 0\.1: /m);
  // 100, 200, 400, 800 ms: ready by the third or fourth attempt.
  const measured = pauses(events, 'Poll');
  assert.ok(measured.length >= 2 && measured.length <= 3, `retries: ${measured}`);
  measured.forEach((pause, i) => inRange(pause, 100 * 2 ** i, `pause ${i + 1}`));
});

test('flattened (the default), the same Retry exhausts its MaxAttempts before the function is ready', async (t) => {
  const machine = pollMachine({ fail: 'NotReady', forMs: 300 }, { IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 4 });
  const { code, stderr, events } = await run(t, machine);
  assert.equal(code, 1);
  assert.match(stderr, /^error: NotReady: /m);
  const measured = pauses(events, 'Poll');
  assert.equal(measured.length, 4);
  measured.forEach((pause, i) => inRange(pause, 10, `pause ${i + 1}`));
});

test('--time-scale scales MaxDelaySeconds too, and FULL jitter draws each pause between 0 and the scaled delay', async (t) => {
  const machine = {
    StartAt: 'Capped',
    States: {
      Capped: {
        ...pollMachine({ fail: 'NotReady' }, { IntervalSeconds: 1, BackoffRate: 2, MaxDelaySeconds: 2, MaxAttempts: 3 }).States.Poll,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Jittered' }],
        End: undefined,
        Next: 'Jittered',
      },
      Jittered: {
        ...pollMachine({ fail: 'NotReady' }, { IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 3, JitterStrategy: 'FULL' }).States.Poll,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Done' }],
        End: undefined,
        Next: 'Done',
      },
      Done: { Type: 'Succeed' },
    },
  };
  const { code, stderr, events } = await run(t, machine, '--time-scale', '0.1');
  assert.equal(code, 0, stderr);
  // 100, 200, then 400 capped at 200 ms.
  const capped = pauses(events, 'Capped');
  assert.equal(capped.length, 3);
  capped.forEach((pause, i) => inRange(pause, [100, 200, 200][i], `capped pause ${i + 1}`));
  // At most 200, 400, 800 ms (+1: the interpreter draws whole milliseconds up to the delay).
  const jittered = pauses(events, 'Jittered');
  assert.equal(jittered.length, 3);
  jittered.forEach((pause, i) => assert.ok(pause <= 200 * 2 ** i + 1 + LATE_MS, `jittered pause ${i + 1}: ${pause} ms`));
});

test("the scaled plan: Seconds waits take F times their time, retriers get F times their interval and cap", () => {
  const definition = {
    StartAt: 'Pause',
    States: {
      Pause: { Type: 'Wait', Seconds: 10, Next: 'Later' },
      Later: { Type: 'Wait', SecondsPath: '$.seconds', InputPath: '$.in', Next: 'Poll' },
      Poll: {
        Type: 'Task',
        Resource: 'arn:aws:lambda:us-east-1:000000000000:function:poll-function',
        Retry: [
          { ErrorEquals: ['NotReady'], IntervalSeconds: 30, BackoffRate: 1.5, MaxDelaySeconds: 120, MaxAttempts: 60 },
          { ErrorEquals: ['States.ALL'], JitterStrategy: 'FULL' },
        ],
        End: true,
      },
    },
  };
  const original = structuredClone(definition);
  const plan = planTiming(definition, { timeScale: 0.01 });
  assert.deepEqual(definition, original, 'the given definition is left as it is');

  // The delay the interpreter is told, not a measured one.
  assert.deepEqual(plan.waitTimeOverrides, { Pause: 100 });
  assert.deepEqual(plan.retryIntervalOverrides, {});
  assert.deepEqual(plan.definition.States.Poll.Retry, [
    { ErrorEquals: ['NotReady'], IntervalSeconds: 0.3, BackoffRate: 1.5, MaxDelaySeconds: 1.2, MaxAttempts: 60 },
    // AWS's default interval (1 s), written out so that it is scaled too.
    { ErrorEquals: ['States.ALL'], JitterStrategy: 'FULL', IntervalSeconds: 0.01 },
  ]);
  // A Wait whose time is known only at run time runs as a Task stand-in of the same name.
  assert.deepEqual([...plan.waitStates], ['Later']);
  assert.equal(plan.definition.States.Later.Type, 'Task');
  assert.deepEqual(plan.definition.States.Later.Parameters, { 'input.$': '$', 'seconds.$': '$.seconds' });
  assert.equal(plan.definition.States.Later.InputPath, '$.in');
  assert.equal(typeof plan.taskResourceLocalHandlers.Later, 'function');

  const flat = planTiming(definition, {});
  assert.equal(flat.definition, definition);
  assert.deepEqual(flat.waitTimeOverrides, { Pause: 10, Later: 10 });
  assert.deepEqual(flat.retryIntervalOverrides, { Poll: 10 });
  assert.deepEqual(planTiming(definition, { realWaits: true }).waitTimeOverrides, {});
});

test('--time-scale 0.01: a 10 s Wait, a SecondsPath and a TimestampPath Wait take a hundredth of their time, as Wait states', async (t) => {
  const machine = {
    StartAt: 'Pause',
    States: {
      Pause: { Type: 'Wait', Seconds: 10, Next: 'ForSeconds' },
      ForSeconds: { Type: 'Wait', InputPath: '$.wait', SecondsPath: '$.seconds', Next: 'Until' },
      Until: { Type: 'Wait', TimestampPath: '$.until', OutputPath: '$.keep', End: true },
    },
  };
  const box = await sandbox(t, []);
  const file = await box.json('machine.asl.json', machine);
  const events = path.join(box.dir, 'events.jsonl');
  const until = new Date(Date.now() + 20000).toISOString();
  const input = await box.json('input.json', { wait: { seconds: 20, until, keep: { kept: true } } });
  const { code, stdout, stderr } = await runCli(['--definition', file, '--binary', box.binary, '--input', input, '--events', events, '--time-scale', '0.01']);
  assert.equal(code, 0, stderr);
  // InputPath and OutputPath apply as in a Wait: its output is its effective input.
  assert.deepEqual(JSON.parse(stdout), { kept: true });

  const all = await readEvents(events);
  inRange(durationOf(all, 'Pause'), 100, 'Pause');
  inRange(durationOf(all, 'ForSeconds'), 200, 'ForSeconds');
  // 20 s from before the runner started: a little less than 200 ms is left once it is reached.
  const untilMs = durationOf(all, 'Until');
  assert.ok(untilMs >= 150 && untilMs <= 200 + LATE_MS, `Until: ${untilMs} ms`);
  for (const name of ['Pause', 'ForSeconds', 'Until']) {
    assert.deepEqual(all.filter((e) => e.state === name).map((e) => [e.type, e.stateType]), [
      ['StateEntered', 'Wait'],
      ['StateExited', 'Wait'],
    ]);
  }
  assert.match(stderr, /^✓ ForSeconds \(0\.\d\d s\)$/m);
});

test('--time-scale: a SecondsPath that is not a whole number fails the execution as the Wait itself does', async (t) => {
  const box = await sandbox(t, []);
  const machine = {
    StartAt: 'Guard',
    States: {
      // A Catch on States.ALL does not see States.Runtime.
      Guard: {
        Type: 'Parallel',
        Branches: [{ StartAt: 'Hold', States: { Hold: { Type: 'Wait', SecondsPath: '$.seconds', End: true } } }],
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  };
  const file = await box.json('machine.asl.json', machine);
  const input = await box.json('input.json', { seconds: 'soon' });
  const args = ['--definition', file, '--binary', box.binary, '--input', input];
  const real = await runCli([...args, '--real-waits']);
  const scaled = await runCli([...args, '--time-scale', '0.01']);
  const error = /^error: States.Runtime: Path expression '\$\.seconds' evaluated to "soon", but expected an integer$/m;
  for (const { code, stderr } of [real, scaled]) {
    assert.equal(code, 1, stderr);
    assert.match(stderr, error);
    assert.doesNotMatch(stderr, /caught/);
  }
});

test('--time-scale is a positive number, and does not go with --wait-ms, --retry-interval-ms or --real-waits', async (t) => {
  const box = await sandbox(t, []);
  const file = await box.json('machine.asl.json', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
  const args = ['--definition', file, '--binary', box.binary];
  for (const other of [['--wait-ms', '5'], ['--retry-interval-ms', '5'], ['--real-waits']]) {
    const { code, stderr } = await runCli([...args, '--time-scale', '0.1', ...other]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`--time-scale cannot be combined with ${other[0]}`));
  }
  for (const bad of ['0', '-1', 'fast', '1e400', '']) {
    const { code, stderr } = await runCli([...args, `--time-scale=${bad}`]);
    assert.equal(code, 2, `${bad}: ${stderr}`);
    assert.match(stderr, /--time-scale must be a positive number/);
  }
  for (const good of ['0.01', '2', '.5', '1e-3']) {
    const { code, stderr } = await runCli([...args, '--time-scale', good]);
    assert.equal(code, 0, `${good}: ${stderr}`);
  }
});
