// scripts/sfn-local and its client, local/stepfunctions/sfn-local.mjs. The client talks to a
// stand-in for a Step Functions that reads the mock file (fixtures/fake-sfn-local.mjs) that runs
// each test case with this runner's interpreter, in a second. The Docker path is checked with a
// fake docker client, and its refusal without Docker. The real thing, every case in LocalStack
// (the script's default engine), takes minutes: scripts/test runs it beside the cargo steps.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { loadCases, outcomeMismatches } from '../lib/cases.mjs';
import { startFakeSfnLocal } from './fixtures/fake-sfn-local.mjs';
import { root, sandbox } from './helpers.mjs';

const repo = path.resolve(root, '..', '..');
const NODE = process.execPath;
const CLIENT = path.join(root, 'sfn-local.mjs');
const SCRIPT = path.join(repo, 'scripts', 'sfn-local');
const MOCK_CONFIG = path.join(repo, 'statemachine', 'refresh.mock.json');
const CASES = path.join(repo, 'statemachine', 'refresh.mock-cases.json');

/** Runs a program; settles with its exit code, stdout and stderr. `onStderr(text, child)` sees stderr as it arrives. */
function run(command, args, { env = process.env, timeoutMs = 60000, onStderr } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let fake;
before(async () => {
  fake = await startFakeSfnLocal({ mockConfigFile: MOCK_CONFIG });
});
after(() => fake?.close());

const { cases } = loadCases(CASES);

test('sfn-local.mjs creates the state machine, runs every case, and finds each as expected', async () => {
  const { code, stdout, stderr } = await run(NODE, [CLIENT, '--endpoint', fake.url]);
  assert.equal(code, 0, stderr + stdout);
  assert.deepEqual(stdout.trim().split('\n'), Object.keys(cases).map((name) => `✓ ${name}`));
  const count = Object.keys(cases).length;
  assert.match(stderr, new RegExp(`^sfn-local: ${count} of ${count} case\\(s\\) ended as expected$`, 'm'));

  const [, created] = fake.calls.find(([operation]) => operation === 'CreateStateMachine');
  assert.equal(created.name, 'rds-refresh');
  // The placeholders became dummy function ARNs, as run.mjs makes them.
  assert.doesNotMatch(created.definition, /\$\{/);
  assert.equal(
    JSON.parse(created.definition).States.CheckInput.Parameters.FunctionName,
    'arn:aws:lambda:us-east-1:000000000000:function:check-input',
  );
  const started = fake.calls.filter(([operation]) => operation === 'StartExecution').map(([, request]) => request);
  assert.deepEqual(started.map((s) => s.stateMachineArn.split('#')[1]).sort(), Object.keys(cases).sort());
  for (const { stateMachineArn, input } of started) {
    assert.deepEqual(JSON.parse(input), cases[stateMachineArn.split('#')[1]].input);
  }

  // LocalStack reads the region and account from the credential scope: a well-formed SigV4
  // header (dummy credentials, a signature's form), dated as X-Amz-Date says.
  for (const [operation, , headers] of fake.calls) {
    assert.equal(headers['content-type'], 'application/x-amz-json-1.0');
    assert.equal(headers['x-amz-target'], `AWSStepFunctions.${operation}`);
    assert.match(headers['x-amz-date'], /^\d{8}T\d{6}Z$/);
    const match = /^AWS4-HMAC-SHA256 Credential=test\/(\d{8})\/us-east-1\/states\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/
      .exec(headers.authorization);
    assert.ok(match, headers.authorization);
    assert.equal(match[1], headers['x-amz-date'].slice(0, 8));
  }
});

test('a case that ends otherwise is reported as the node test reports it, and the exit status is 1', async (t) => {
  const box = await sandbox(t, []);
  const wrong = JSON.parse(readFileSync(CASES, 'utf8'));
  wrong.cases.SnapshotNotFound.expect = { status: 'FAILED', error: 'SnapshotTooOld', cause: 'too old' };
  wrong.cases.HappyPathSwap.expect.output.mode = 'replace';
  wrong.cases.DryRun.expect = { status: 'FAILED', error: 'InvalidInput' };
  const file = await box.json('cases.json', wrong);
  const picked = ['HappyPathSwap', 'SnapshotNotFound', 'DryRun', 'TargetLocked'];
  const args = [CLIENT, '--endpoint', fake.url, '--cases', file, ...picked.flatMap((c) => ['--case', c])];
  const { code, stdout, stderr } = await run(NODE, args);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^sfn-local: 1 of 4 case\(s\) ended as expected$/m);

  // The same messages as lib/cases.mjs gives for the same outcomes.
  const expected = [];
  for (const name of picked) {
    const record = [...fake.executions.values()].filter((r) => r.name.startsWith(`${name}-`)).at(-1);
    const outcome = record.status === 'SUCCEEDED' ? { status: record.status, output: JSON.parse(record.output) } : record;
    const mismatches = outcomeMismatches(wrong.cases[name].expect, outcome);
    expected.push(mismatches.length ? `✗ ${name}` : `✓ ${name}`, ...mismatches.map((m) => `    ${m}`));
  }
  assert.deepEqual(stdout.trimEnd().split('\n'), expected);
  assert.match(stdout, /^ {4}error: expected SnapshotTooOld, got SnapshotNotFound$/m);
  assert.match(stdout, /^ {4}output \$\.mode: expected "replace", got "swap"$/m);
  assert.match(stdout, /^ {4}status: expected FAILED, got SUCCEEDED \(output \{"dryRun":true,/m);
});

test('a case still running at --timeout is stopped and reported as not done; a signal stops the running ones', async (t) => {
  fake.hold.add('TargetLocked');
  t.after(() => fake.hold.delete('TargetLocked'));
  const started = Date.now();
  const late = await run(NODE, [CLIENT, '--endpoint', fake.url, '--case', 'DryRun', '--case', 'TargetLocked', '--timeout', '1']);
  assert.equal(late.code, 1, late.stderr);
  assert.ok(Date.now() - started < 10000);
  assert.equal(
    late.stdout,
    '✓ DryRun\n✗ TargetLocked\n    status: expected FAILED, got RUNNING (sfn-local.Timeout: not done after 1 s (--timeout))\n',
  );
  const held = () => [...fake.executions.values()].filter((r) => r.name.startsWith('TargetLocked-'));
  assert.deepEqual(
    [held().at(-1).status, held().at(-1).error, held().at(-1).cause],
    ['ABORTED', 'sfn-local.Timeout', 'not done after 1 s (--timeout)'],
  );

  // SIGTERM once the case is running: the client stops it, then exits 143.
  const before = held().length;
  let signalled = false;
  const interrupted = await run(NODE, [CLIENT, '--endpoint', fake.url, '--case', 'TargetLocked'], {
    onStderr: (text, child) => {
      if (signalled || !/^sfn-local: running 1 case/m.test(text)) return;
      signalled = true;
      child.kill('SIGTERM');
    },
  });
  assert.equal(interrupted.code, 143, interrupted.stderr);
  assert.match(interrupted.stderr, /^■ SIGTERM: stopping 1 execution\(s\)$/m);
  assert.equal(held().length, before + 1);
  assert.deepEqual([held().at(-1).status, held().at(-1).error], ['ABORTED', 'sfn-local.Interrupted']);
});

test('scripts/sfn-local --endpoint uses a Step Functions Local that is already running', async () => {
  const { code, stdout, stderr } = await run(SCRIPT, ['--endpoint', fake.url, '--case', 'DryRun', '--case', 'RestoreFailed']);
  assert.equal(code, 0, stderr);
  assert.equal(stdout, '✓ DryRun\n✓ RestoreFailed\n');
  // The state machine was there already (the first test made it): it was updated, not made again.
  assert.ok(fake.calls.some(([operation]) => operation === 'UpdateStateMachine'));
});

test('without Docker, scripts/sfn-local --engine docker says what it needs and how else to run the cases, and exits 3', async (t) => {
  const box = await sandbox(t, []);
  const noDocker = await run('/bin/bash', [SCRIPT, '--engine', 'docker'], { env: { PATH: box.bin } });
  assert.equal(noDocker.code, 3, noDocker.stderr);
  assert.match(noDocker.stderr, /^sfn-local: docker is not installed \(no docker on PATH\)\.$/m);
  assert.match(noDocker.stderr, /amazon\/aws-stepfunctions-local, so it needs Docker/);
  assert.match(noDocker.stderr, /or run Step Functions Local yourself .* and pass --endpoint URL/s);
  assert.match(noDocker.stderr, /Without Docker, scripts\/sfn-local \(--engine localstack, the default\) runs the same cases in LocalStack/);

  // A docker client whose daemon does not answer.
  const docker = path.join(box.bin, 'docker');
  const refusal = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.';
  await fs.writeFile(docker, `#!/bin/sh\necho "${refusal}" >&2\nexit 1\n`, { mode: 0o755 });
  const noDaemon = await run('/bin/bash', [SCRIPT, '--engine', 'docker'], { env: { PATH: box.bin } });
  assert.equal(noDaemon.code, 3, noDaemon.stderr);
  assert.ok(
    noDaemon.stderr.split('\n').includes(`sfn-local: the Docker daemon is not reachable (docker info: ${refusal})`),
    noDaemon.stderr,
  );
});

test('with Docker, scripts/sfn-local --engine docker starts Step Functions Local with the mock file, and stops it at the end', async (t) => {
  // A docker client that records its calls; the "container" is the stand-in, on its port.
  const box = await sandbox(t, []);
  const log = path.join(box.dir, 'docker.log');
  const docker = `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1" in run) echo container-1 ;; esac\nexit 0\n`;
  await fs.writeFile(path.join(box.bin, 'docker'), docker, { mode: 0o755 });
  const port = new URL(fake.url).port;
  const args = [SCRIPT, '--engine', 'docker', '--port', port, '--case', 'TargetLocked'];
  const { code, stdout, stderr } = await run('/bin/bash', args, { env: { PATH: box.bin } });
  assert.equal(code, 0, stderr);
  assert.equal(stdout, '✓ TargetLocked\n');
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(calls.length, 3, calls.join('\n'));
  assert.equal(calls[0], 'info');
  const mockInContainer = '/home/StepFunctionsLocal/MockConfigFile.json';
  assert.equal(
    calls[1],
    `run --detach --rm --publish 127.0.0.1:${port}:8083 ` +
      `--mount type=bind,readonly,source=${MOCK_CONFIG},destination=${mockInContainer} --env SFN_MOCK_CONFIG=${mockInContainer} ` +
      '--env AWS_DEFAULT_REGION=us-east-1 --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test amazon/aws-stepfunctions-local',
  );
  assert.equal(calls[2], 'stop container-1');
});

test('setup errors exit 2: an unknown case, an endpoint that does not answer, a bad option', async (t) => {
  const unknown = await run(NODE, [CLIENT, '--endpoint', fake.url, '--case', 'Nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^sfn-local\.mjs: no case Nope in .*refresh\.mock-cases\.json \(its cases: HappyPathSwap, /m);

  // A case of the cases file that the mock file does not have: Step Functions would say less.
  const box = await sandbox(t, []);
  const extra = JSON.parse(readFileSync(CASES, 'utf8'));
  extra.cases.NotMocked = extra.cases.DryRun;
  const extraFile = await box.json('cases.json', extra);
  const notMocked = await run(NODE, [CLIENT, '--endpoint', fake.url, '--cases', extraFile, '--case', 'NotMocked']);
  assert.equal(notMocked.code, 2);
  assert.match(notMocked.stderr, /^sfn-local\.mjs: .*refresh\.mock\.json has no test case NotMocked of state machine rds-refresh$/m);

  const silent = await run(NODE, [CLIENT, '--endpoint', 'http://127.0.0.1:9', '--wait-for-endpoint', '1']);
  assert.equal(silent.code, 2);
  assert.match(silent.stderr, /^sfn-local\.mjs: no answer from the Step Functions API at http:\/\/127\.0\.0\.1:9 within 1 s: /m);

  const usage = await run(NODE, [CLIENT, '--timeout', '5']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^sfn-local\.mjs: --endpoint is required$/m);
  assert.match(usage.stderr, /^usage: sfn-local\.mjs --endpoint URL /m);

  for (const [args, message] of [
    [['--nope'], 'sfn-local: unknown option --nope'],
    [['--engine', 'moto'], 'sfn-local: --engine is localstack or docker, not moto'],
    [['--engine', 'docker', '--endpoint', fake.url], 'sfn-local: --endpoint uses one already running: no --engine with it'],
    [['--port', 'high'], 'sfn-local: --port must be a port number'],
  ]) {
    const refused = await run(SCRIPT, args);
    assert.equal(refused.code, 2, refused.stderr);
    assert.ok(refused.stderr.split('\n').includes(message), refused.stderr);
  }
});
