// --mock-config / --test-case: SFN Local's mock file, its checks, and how run.mjs answers the
// mocked Task states by attempt (fixture definition test/fixtures/mock.asl.json).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { loadDefinition, SetupError } from '../lib/definition.mjs';
import { mockedTask, parseMockConfig, selectTestCase, UncatchableError } from '../lib/mock-config.mjs';
import { InvocationError } from '../lib/runtime-api.mjs';
import { FUNCTIONS, fixture, readEvents, runCli, sandbox } from './helpers.mjs';

const notReady = (message) => ({
  Throw: { Error: 'NotReady', Cause: JSON.stringify({ errorType: 'NotReady', errorMessage: message }) },
});
const invoked = (payload) => ({ Return: { StatusCode: 200, Payload: payload } });

/** A mock config of state machine `mock` with the given test cases and mocked responses. */
const mockConfig = (testCases, responses, machine = 'mock') => ({
  StateMachines: { [machine]: { TestCases: testCases } },
  MockedResponses: responses,
});

const RESPONSES = {
  PollReadyOnThirdAttempt: { '0-1': notReady('still polling'), 2: invoked({ status: 'ready' }) },
  PollReady: { 0: invoked({ status: 'ready' }) },
  PollCopyFailed: { 0: { Throw: { Error: 'CopyFailed', Cause: 'the copy failed' } } },
  PollNotReadyTwice: { '0-1': notReady('still polling') },
  EchoMocked: { 0: { Return: 'mocked echo' } },
  Published: { 0: { Return: { MessageId: 'message-1' } } },
};
const CASES = {
  Retried: { Poll: 'PollReadyOnThirdAttempt', Echo: 'EchoMocked', Notify: 'Published' },
  Caught: { Poll: 'PollCopyFailed' },
  RunsOut: { Poll: 'PollNotReadyTwice' },
  EchoForReal: { Poll: 'PollReady', Notify: 'Published' },
  NotifyForReal: { Poll: 'PollReady', Echo: 'EchoMocked' },
};

/** Writes the mock config and the input into a sandbox; returns run.mjs's arguments for `testCase`. */
async function mockRun(box, testCase, { config = mockConfig(CASES, RESPONSES), input = {} } = {}, ...more) {
  const file = await box.json('mock.json', config);
  const inputFile = await box.json('input.json', input);
  return [
    '--definition', fixture('mock.asl.json'), '--functions', FUNCTIONS,
    '--mock-config', file, '--test-case', testCase, '--input', inputFile, ...more,
  ];
}

test('mocked states answer by attempt: a Throw goes through Retry, the Return is the result', async (t) => {
  const box = await sandbox(t, []);
  const events = path.join(box.dir, 'events.jsonl');
  // No --binary and no --endpoint: every state the case reaches is mocked.
  const { code, stdout, stderr } = await runCli(await mockRun(box, 'Retried', {}, '--events', events));
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { poll: { status: 'ready' }, echo: 'mocked echo', notified: { messageId: 'message-1' } });
  assert.match(stderr, /^◆ test case Retried of mock: 3 Task state\(s\) mocked by .*mock\.json$/m);
  // Mocked states show as real ones do.
  assert.match(stderr, /^↻ Poll retry 1 after NotReady: still polling$/m);
  assert.match(stderr, /^↻ Poll retry 2 after NotReady: still polling$/m);
  assert.match(stderr, /^✓ Notify \(\d+\.\d\d s\)$/m);
  const retried = (await readEvents(events)).filter((e) => e.type === 'StateRetried');
  assert.deepEqual(retried.map((e) => [e.state, e.attempt, e.error]), [['Poll', 1, 'NotReady'], ['Poll', 2, 'NotReady']]);
});

test('a Throw no retrier takes goes to the Catch under its own Error and Cause', async (t) => {
  const box = await sandbox(t, []);
  const { code, stdout, stderr } = await runCli(await mockRun(box, 'Caught'));
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { error: { Error: 'CopyFailed', Cause: 'the copy failed' }, caught: 'caught' });
  assert.match(stderr, /^⤷ caught CopyFailed in Poll -> Caught$/m);
});

test('an attempt the mocked response does not answer fails the execution with States.Runtime, past any Catch', async (t) => {
  const box = await sandbox(t, []);
  const { code, stdout, stderr } = await runCli(await mockRun(box, 'RunsOut'));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(
    stderr,
    new RegExp(
      '^error: States\\.Runtime: test case RunsOut: state Poll has no mocked response for attempt 2 ' +
        '\\(mocked response PollNotReadyTwice answers attempts 0-1\\)$',
      'm',
    ),
  );
  assert.doesNotMatch(stderr, /caught/);
});

test('a state the case does not mock runs for real with --binary; without it, reaching it is a setup error', async (t) => {
  // The binary serves Echo's function only: the mocked Poll needs none.
  const box = await sandbox(t, ['echo-function']);
  const real = await runCli(await mockRun(box, 'EchoForReal', {}, '--binary', box.binary), { state: box.state });
  assert.equal(real.code, 0, real.stderr);
  assert.equal(JSON.parse(real.stdout).echo, 'from the function');
  assert.equal((await box.pids()).length, 1);

  const noBinary = await runCli(await mockRun(box, 'EchoForReal'));
  assert.equal(noBinary.code, 2);
  assert.equal(noBinary.stdout, '');
  assert.match(
    noBinary.stderr,
    new RegExp(
      '^run\\.mjs: test case EchoForReal reaches Task state Echo, which it does not mock, ' +
        'and there is no --binary to run its function: mock Echo in that test case of .*mock\\.json$',
      'm',
    ),
  );

  const noEndpoint = await runCli(await mockRun(box, 'NotifyForReal'));
  assert.equal(noEndpoint.code, 2);
  assert.match(
    noEndpoint.stderr,
    /test case NotifyForReal reaches Task state Notify, which it does not mock, and there is no --endpoint to publish to/,
  );
});

test('a mock test case may mock a state of an integration this runner cannot run', async (t) => {
  const box = await sandbox(t, []);
  const definition = await box.json('glue.asl.json', {
    StartAt: 'Job',
    States: { Job: { Type: 'Task', Resource: 'arn:aws:states:::glue:startJobRun.sync', Parameters: { JobName: 'j' }, End: true } },
  });
  const config = mockConfig({ Mocked: { Job: 'JobDone' }, Unmocked: {} }, { JobDone: { 0: { Return: { JobRunState: 'SUCCEEDED' } } } });
  const args = async (testCase) => [
    '--definition', definition, '--functions', FUNCTIONS, '--binary', box.binary,
    '--mock-config', await box.json('mock.json', config), '--test-case', testCase,
  ];
  const mocked = await runCli(await args('Mocked'));
  assert.equal(mocked.code, 0, mocked.stderr);
  assert.deepEqual(JSON.parse(mocked.stdout), { JobRunState: 'SUCCEEDED' });

  const unmocked = await runCli(await args('Unmocked'));
  assert.equal(unmocked.code, 2);
  assert.match(
    unmocked.stderr,
    /reaches Task state Job, which it does not mock, and it cannot run locally \(state Job: Resource "arn:aws:states:::glue:startJobRun\.sync"/,
  );
});

test('--state-machine-name picks a state machine of the file; it is needed when there are several', async (t) => {
  const box = await sandbox(t, []);
  const config = mockConfig(CASES, RESPONSES);
  config.StateMachines.other = { TestCases: { Caught: { Poll: 'PollReady' } } };
  const ambiguous = await runCli(await mockRun(box, 'Caught', { config }));
  assert.equal(ambiguous.code, 2);
  assert.match(ambiguous.stderr, /mock config .*mock\.json defines state machines mock, other: choose one with --state-machine-name/);

  const chosen = await runCli(await mockRun(box, 'Caught', { config }, '--state-machine-name', 'mock'));
  assert.equal(chosen.code, 0, chosen.stderr);
  assert.equal(JSON.parse(chosen.stdout).caught, 'caught');
  // The mock config's name for the machine is the execution's.
  assert.match(chosen.stderr, /^◆ test case Caught of mock:/m);
});

test('the mock options go together, and a bad file or test case is a setup error naming it', async (t) => {
  const box = await sandbox(t, []);
  const args = await mockRun(box, 'Retried');
  const without = (flag) => {
    const i = args.indexOf(flag);
    return [...args.slice(0, i), ...args.slice(i + 2)];
  };
  for (const [argv, message] of [
    [without('--mock-config'), /--mock-config and --test-case go together/],
    [without('--test-case'), /--mock-config and --test-case go together/],
  ]) {
    const { code, stderr } = await runCli(argv);
    assert.equal(code, 2, stderr);
    assert.match(stderr, message);
    assert.match(stderr, /usage: run\.mjs/);
  }
  const stray = await runCli(['--definition', fixture('mock.asl.json'), '--binary', box.binary, '--state-machine-name', 'mock']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--state-machine-name chooses a state machine of the --mock-config file/);

  const unknownCase = await runCli(await mockRun(box, 'Nope'));
  assert.equal(unknownCase.code, 2);
  assert.match(
    unknownCase.stderr,
    /state machine mock has no test case "Nope" \(its test cases: Retried, Caught, RunsOut, EchoForReal, NotifyForReal\)/,
  );

  const brokenConfig = mockConfig({ Retried: { Poll: 'Missing' } }, { Bad: { '1-0': invoked({}) } });
  const broken = await runCli(await mockRun(box, 'Retried', { config: brokenConfig }));
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /^run\.mjs: mock config .*mock\.json is not valid:$/m);
  assert.match(broken.stderr, /^ {2}- MockedResponses\.Bad: attempt range "1-0" runs backwards$/m);
  assert.match(
    broken.stderr,
    /^ {2}- test case Retried: state Poll names mocked response "Missing", which MockedResponses does not define$/m,
  );

  const notJson = await runCli([
    '--definition', fixture('mock.asl.json'), '--functions', FUNCTIONS,
    '--mock-config', await box.json('bad.json', '{'), '--test-case', 'x',
  ]);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /mock config .*bad\.json is not valid JSON/);
});

/** The problems parseMockConfig reports for `config`, one per line. */
function problemsOf(config) {
  try {
    parseMockConfig(config, 'm.json');
  } catch (error) {
    assert.ok(error instanceof SetupError, error.stack);
    return error.message.split('\n').slice(1).map((line) => line.replace(/^ {2}- /, ''));
  }
  return [];
}

test('the mock config structure is checked: attempt keys, Return or Throw, response names', () => {
  assert.deepEqual(problemsOf(mockConfig(CASES, RESPONSES)), []);
  const ok = invoked({});
  assert.deepEqual(
    problemsOf(
      mockConfig(
        { Case: { A: 'Keys', B: 'Answers', C: 'Undefined', D: 7 } },
        {
          Keys: { 0: ok, '01': ok, 'x-1': ok, '2-1': ok, '1-3': ok, 3: ok, 6: ok },
          Answers: { 0: { Return: 1, Throw: { Error: 'E', Cause: 'c' } }, 1: { Throw: { Error: 'E' } }, 2: {} },
          Empty: {},
        },
      ),
    ),
    [
      'MockedResponses.Keys: attempt key "01" is not an attempt number ("3") or an inclusive range ("1-2")',
      'MockedResponses.Keys: attempt key "x-1" is not an attempt number ("3") or an inclusive range ("1-2")',
      'MockedResponses.Keys: attempt range "2-1" runs backwards',
      'MockedResponses.Keys: attempt "3" overlaps an earlier key',
      'MockedResponses.Keys: no response for attempt 4 (attempts must run from 0 without gaps)',
      'MockedResponses.Answers.0: must have exactly one field, Return or Throw',
      'MockedResponses.Answers.1.Throw: must be {"Error": "<error name>", "Cause": "<text>"}',
      'MockedResponses.Answers.2: must have exactly one field, Return or Throw',
      'MockedResponses.Empty: must be an object of attempt numbers ("0", "1-2") to {"Return": ...} or {"Throw": ...}',
      'test case Case: state C names mocked response "Undefined", which MockedResponses does not define',
      'test case Case: state D: the mocked response must be named by a string',
    ],
  );
  assert.deepEqual(problemsOf({ StateMachines: {}, MockedResponses: {}, Extra: 1 }), [
    'unknown top-level field(s) Extra (only StateMachines and MockedResponses)',
    'StateMachines: must name at least one state machine',
  ]);
  assert.deepEqual(problemsOf({ StateMachines: { m: { Cases: {} } }, MockedResponses: {} }), [
    'StateMachines.m: must be {"TestCases": {"<test case>": {"<state>": "<mocked response>"}}}',
  ]);
});

test('each test case is checked against the definition: Task states only, lambda:invoke returns a Payload', () => {
  const { definition } = loadDefinition(fixture('mock.asl.json'), FUNCTIONS);
  const parsed = parseMockConfig(
    mockConfig(
      { Good: { Poll: 'PollReady' }, Bad: { Poll: 'Bare', Nope: 'PollReady', Caught: 'PollReady', Echo: 'Bare' } },
      { PollReady: RESPONSES.PollReady, Bare: { 0: { Return: { status: 'ready' } } } },
    ),
    'm.json',
  );
  assert.throws(
    () => selectTestCase(parsed, definition, { file: 'm.json', testCase: 'Good' }),
    (error) => {
      assert.ok(error instanceof SetupError);
      assert.equal(
        error.message,
        [
          'mock config m.json does not fit the definition:',
          '  - test case Bad: state Poll is a lambda:invoke Task, so MockedResponses.Bare.0.Return must be what that ' +
            'integration returns: {"StatusCode": 200, "Payload": <the function\'s result>}',
          '  - test case Bad mocks state Nope, but the definition has no state of that name',
          '  - test case Bad mocks state Caught, a Pass state: only Task states can be mocked',
        ].join('\n'),
      );
      return true;
    },
  );
  // A bare function ARN returns the function's result as it is: Echo may return anything.
  const good = parseMockConfig(
    mockConfig({ Good: { Poll: 'PollReady', Echo: 'Bare' } }, { PollReady: RESPONSES.PollReady, Bare: { 0: { Return: 1 } } }),
    'm.json',
  );
  const selected = selectTestCase(good, definition, { file: 'm.json', testCase: 'Good' });
  assert.deepEqual([selected.machine, selected.testCase, [...selected.mocks.keys()]], ['mock', 'Good', ['Poll', 'Echo']]);
  assert.throws(
    () => selectTestCase(good, definition, { file: 'm.json', machine: 'other', testCase: 'Good' }),
    /m\.json has no state machine "other" \(it has: mock\)/,
  );
});

test('the attempt counter of a state runs on for the whole execution: retries and later visits take the next attempt', async () => {
  const parsed = parseMockConfig(
    mockConfig({ C: { S: 'R' } }, { R: { '0-1': notReady('not yet'), 2: invoked(1), 3: { Throw: { Error: 'Boom', Cause: 'c' } } } }),
    'm.json',
  );
  const handler = mockedTask('S', parsed.responses.get('R'), { testCase: 'C' });
  for (let attempt = 0; attempt < 2; attempt++) {
    await assert.rejects(handler({}), (error) => error instanceof InvocationError && error.name === 'NotReady');
  }
  const first = await handler({});
  assert.deepEqual(first, { StatusCode: 200, Payload: 1 });
  first.Payload = 'changed by the interpreter';
  await assert.rejects(handler({}), { name: 'Boom', message: 'c' });
  await assert.rejects(handler({}), (error) => {
    assert.ok(error instanceof UncatchableError);
    assert.equal(error.name, 'States.Runtime');
    // What makes the interpreter skip Retry and Catch.
    assert.equal(error.isRetryable, false);
    assert.equal(error.isCatchable, false);
    assert.match(error.message, /state S has no mocked response for attempt 4 \(mocked response R answers attempts 0-1, 2, 3\)/);
    return true;
  });
  // Another execution builds its own handler, starting again from attempt 0; the file's value is untouched.
  const again = mockedTask('S', parsed.responses.get('R'), { testCase: 'C' });
  await assert.rejects(again({}), { name: 'NotReady' });
  await assert.rejects(again({}), { name: 'NotReady' });
  assert.deepEqual(await again({}), { StatusCode: 200, Payload: 1 });
});
