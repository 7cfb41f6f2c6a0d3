// scripts/sfn-local and its client, local/stepfunctions/sfn_local.py (Python, boto3 from the
// emulator's venv). There is no Docker here: the client talks to a stand-in for Step Functions
// Local (fixtures/fake-sfn-local.mjs) that runs each test case with this runner's interpreter,
// and the Docker path is checked only for its refusal without Docker.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { loadCases, outcomeMismatches } from '../lib/cases.mjs';
import { startFakeSfnLocal } from './fixtures/fake-sfn-local.mjs';
import { root, sandbox } from './helpers.mjs';

const repo = path.resolve(root, '..', '..');
const PYTHON = path.join(repo, '.local', 'venv', 'bin', 'python');
const CLIENT = path.join(root, 'sfn_local.py');
const SCRIPT = path.join(repo, 'scripts', 'sfn-local');
const MOCK_CONFIG = path.join(repo, 'statemachine', 'refresh.mock.json');
const CASES = path.join(repo, 'statemachine', 'refresh.mock-cases.json');

/** Runs a program; settles with its exit code, stdout and stderr. */
function run(command, args, { env = process.env, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
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
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run scripts/setup (it installs boto3 with the emulator)`);
  fake = await startFakeSfnLocal({ mockConfigFile: MOCK_CONFIG });
});
after(() => fake?.close());

const { cases } = loadCases(CASES);

test('sfn_local.py creates the state machine, runs every case, and finds each as expected', async () => {
  const { code, stdout, stderr } = await run(PYTHON, [CLIENT, '--endpoint', fake.url]);
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
  const { code, stdout, stderr } = await run(PYTHON, args);
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

test('scripts/sfn-local --endpoint uses a Step Functions Local that is already running', async () => {
  const { code, stdout, stderr } = await run(SCRIPT, ['--endpoint', fake.url, '--case', 'DryRun', '--case', 'RestoreFailed']);
  assert.equal(code, 0, stderr);
  assert.equal(stdout, '✓ DryRun\n✓ RestoreFailed\n');
  // The state machine was there already (the first test made it): it was updated, not made again.
  assert.ok(fake.calls.some(([operation]) => operation === 'UpdateStateMachine'));
});

test('without Docker, scripts/sfn-local says what it needs and how else to run the cases, and exits 3', async (t) => {
  const box = await sandbox(t, []);
  const noDocker = await run('/bin/bash', [SCRIPT], { env: { PATH: box.bin } });
  assert.equal(noDocker.code, 3, noDocker.stderr);
  assert.match(noDocker.stderr, /^sfn-local: docker is not installed \(no docker on PATH\)\.$/m);
  assert.match(noDocker.stderr, /amazon\/aws-stepfunctions-local, so it needs Docker/);
  assert.match(noDocker.stderr, /or run Step Functions Local yourself .* and pass --endpoint URL/s);
  assert.match(noDocker.stderr, /scripts\/test runs the same cases through the local runner/);

  // A docker client whose daemon does not answer.
  const docker = path.join(box.bin, 'docker');
  const refusal = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.';
  await fs.writeFile(docker, `#!/bin/sh\necho "${refusal}" >&2\nexit 1\n`, { mode: 0o755 });
  const noDaemon = await run('/bin/bash', [SCRIPT], { env: { PATH: box.bin } });
  assert.equal(noDaemon.code, 3, noDaemon.stderr);
  assert.ok(
    noDaemon.stderr.split('\n').includes(`sfn-local: the Docker daemon is not reachable (docker info: ${refusal})`),
    noDaemon.stderr,
  );
});

test('with Docker, scripts/sfn-local starts Step Functions Local with the mock file, and stops it at the end', async (t) => {
  // A docker client that records its calls; the "container" is the stand-in, on its port.
  const box = await sandbox(t, []);
  const log = path.join(box.dir, 'docker.log');
  const docker = `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1" in run) echo container-1 ;; esac\nexit 0\n`;
  await fs.writeFile(path.join(box.bin, 'docker'), docker, { mode: 0o755 });
  const port = new URL(fake.url).port;
  const { code, stdout, stderr } = await run('/bin/bash', [SCRIPT, '--port', port, '--case', 'TargetLocked'], { env: { PATH: box.bin } });
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

test('setup errors exit 2: an unknown case, an endpoint that does not answer, a bad option', async () => {
  const unknown = await run(PYTHON, [CLIENT, '--endpoint', fake.url, '--case', 'Nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^sfn_local\.py: no case Nope in .*refresh\.mock-cases\.json \(its cases: HappyPathSwap, /m);

  const silent = await run(PYTHON, [CLIENT, '--endpoint', 'http://127.0.0.1:9', '--wait-for-endpoint', '1']);
  assert.equal(silent.code, 2);
  assert.match(silent.stderr, /^sfn_local\.py: no answer from Step Functions Local at http:\/\/127\.0\.0\.1:9 within 1 s: /m);

  const option = await run(SCRIPT, ['--nope']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /^sfn-local: unknown option --nope$/m);
});
