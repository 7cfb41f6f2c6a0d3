// The validator: asl-validator after substitution, plus the States.ALL rules it misses.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FUNCTIONS, fixture, runCli, sandbox } from './helpers.mjs';

test('the fixtures that should be valid are', async () => {
  const definitions = [
    'basic.asl.json', 'single.asl.json', 'nested.asl.json', 'fail-after.asl.json', 'sns-publish.asl.json', 'context.asl.json',
    'timeout.asl.json', 'sync-parent.asl.json', 'sync-child.asl.json', 'repair-stub.asl.json', 'refresh-stub.asl.json',
  ].map(fixture);
  // The state machine ARNs that --state-machine gives the nested ones' placeholders.
  const machines = ['Child', 'Refresh'].flatMap((name) => ['--substitution', `${name}StateMachineArn=arn:aws:states:us-east-1:000000000000:stateMachine:${name.toLowerCase()}`]);
  const { code, stderr } = await runCli(['--functions', FUNCTIONS, ...machines, ...definitions], { script: 'validate.mjs' });
  assert.equal(code, 0, stderr);
  assert.equal(stderr.match(/^✓ /gm).length, definitions.length);
});

test('States.ALL must be alone in its ErrorEquals and in the last Retrier/Catcher', async () => {
  const { code, stderr } = await runCli([fixture('invalid-states-all.asl.json')], { script: 'validate.mjs' });
  assert.equal(code, 1);
  assert.match(stderr, /state Call: Retry\[0\]: States.ALL must be alone in ErrorEquals/);
  assert.match(stderr, /state Call: Catch\[0\]: a Catcher with States.ALL must be the last one/);
});

test('run.mjs --validate-only says the same, and a run of an invalid definition is a setup error', async (t) => {
  const box = await sandbox(t);
  const definition = ['--definition', fixture('invalid-states-all.asl.json'), '--functions', FUNCTIONS];
  const only = await runCli([...definition, '--validate-only']);
  assert.equal(only.code, 1);
  assert.match(only.stderr, /States.ALL must be alone/);

  const run = await runCli([...definition, '--binary', box.binary]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /is not a valid state machine/);

  const valid = await runCli(['--definition', fixture('basic.asl.json'), '--functions', FUNCTIONS, '--validate-only']);
  assert.equal(valid.code, 0, valid.stderr);
});

test("asl-validator's own findings are reported, on the definition after substitution", async (t) => {
  const box = await sandbox(t, []);
  const broken = await box.json('broken.asl.json', {
    StartAt: 'Call',
    States: { Call: { Type: 'Task', Resource: '${EchoFunctionArn}', Next: 'Nowhere' } },
  });
  const { code, stderr } = await runCli(['--functions', FUNCTIONS, broken], { script: 'validate.mjs' });
  assert.equal(code, 1);
  assert.match(stderr, /Missing 'StartAt'\|'Next'\|'Default' target: Nowhere/);

  const unknown = await runCli(['--functions', FUNCTIONS, fixture('basic.asl.json'), broken.replace('broken', 'absent')], {
    script: 'validate.mjs',
  });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /cannot read definition .*absent\.asl\.json: ENOENT/);
});
