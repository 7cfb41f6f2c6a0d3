// Shared by the tests: a sandbox with a fake Lambda binary, and running the real CLIs.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..');
export const repoRoot = path.resolve(root, '..', '..');
export const fixture = (name) => path.join(here, 'fixtures', name);
export const FUNCTIONS = fixture('functions.json');

/**
 * A temporary directory with a state/ directory and a bin/ holding `binary`, a fake of the one
 * Lambda binary: a wrapper that execs the Node fake function (so the process id is the
 * function's own), which serves the `handlers` given and, like rds-refresh-lambda, fails its init
 * for any other `_HANDLER`. bin/ holds nothing else (a PATH for tests to fill).
 */
export async function sandbox(t, handlers = ['echo-function', 'poll-function']) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'local-sfn-test-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  await fs.mkdir(bin);
  await fs.mkdir(state);
  const binary = path.join(bin, 'fake-lambda');
  const wrapper = `#!/bin/sh\nFAKE_HANDLERS='${handlers.join(' ')}'\nexport FAKE_HANDLERS\n` +
    `exec "${process.execPath}" "${fixture('fake-function.mjs')}" "$@"\n`;
  await fs.writeFile(binary, wrapper, { mode: 0o755 });
  return {
    dir,
    bin,
    binary,
    state,
    /** Writes `value` as JSON into the sandbox and returns its path. */
    async json(name, value) {
      const file = path.join(dir, name);
      await fs.writeFile(file, typeof value === 'string' ? value : JSON.stringify(value));
      return file;
    },
    /** The ids of every fake function process started in this sandbox. */
    async pids() {
      return (await fs.readdir(state)).filter((f) => f.startsWith('pid-')).map((f) => Number(f.slice(4)));
    },
  };
}

/** The usual run.mjs arguments for a fixture definition in a sandbox. */
export const runArgs = (box, definition, input, ...more) => [
  '--definition', fixture(definition), '--functions', FUNCTIONS, '--binary', box.binary, '--input', input, ...more,
];

/**
 * Runs a CLI (run.mjs by default) with the Node running the tests, `stdin` as its standard input;
 * settles with its exit code, signal, stdout and stderr. `onStderr(text, child)` sees stderr as it arrives.
 */
export function runCli(args, { script = 'run.mjs', ...options } = {}) {
  return runCommand(process.execPath, [path.join(root, script), ...args], { what: script, ...options });
}

/** Runs one of the repository's scripts (`scripts/<name>`) as runCli runs a CLI. */
export function runScript(name, args, options = {}) {
  return runCommand(path.join(repoRoot, 'scripts', name), args, { what: `scripts/${name}`, ...options });
}

function runCommand(command, args, { what, env = {}, state, stdin = '', onStderr, timeoutMs = 20000 }) {
  return new Promise((resolve, reject) => {
    const childEnv = { ...process.env, ...env };
    if (state) childEnv.FAKE_STATE_DIR = state;
    const child = spawn(command, args, { env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not finish in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.stdin.end(stdin);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** True while `pid` is a live process (a zombie counts as gone). */
export function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The events file as a list of objects. */
export async function readEvents(file) {
  return (await fs.readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
}

/**
 * Starts the local emulator (local/emulator/rds_emulator.py: moto, so SNS and SQS too).
 * Resolves with `{ url, stop }`; `stop()` (for an `after` hook) closes its stdin and waits for it.
 */
export async function startEmulator() {
  const python = path.join(repoRoot, '.local', 'venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/setup to install the emulator`);
  // --exit-on-stdin-eof: should the test process die, the closed pipe stops the emulator too.
  const script = path.join(repoRoot, 'local', 'emulator', 'rds_emulator.py');
  const child = spawn(python, [script, '--port', '0', '--exit-on-stdin-eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('close', resolve));
  const stop = async () => {
    child.stdin.end();
    if (!child.pid) return; // never started: no exit to wait for
    const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killed);
  };
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  try {
    const url = await new Promise((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`the emulator did not start in 30 s; stderr:\n${stderr}`)), 30000);
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`the emulator exited (${code}) before listening; stderr:\n${stderr}`)));
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /^listening (\S+)$/m.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const XML_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The texts of every `<tag>` element in `xml`, unescaped. */
export function xmlElements(xml, tag) {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map(([, text]) =>
    text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (entity, name) =>
      name[0] === '#'
        ? String.fromCodePoint(name[1].toLowerCase() === 'x' ? parseInt(name.slice(2), 16) : Number(name.slice(1)))
        : (XML_ENTITIES[name] ?? entity),
    ),
  );
}

/**
 * One AWS query-API call (SNS, SQS...) to the emulator: moto reads the region and service from
 * the credential scope and checks no signature. Resolves with the response body; rejects on an
 * HTTP error.
 */
export async function awsQuery(url, { region = 'us-east-1', service, version, action, params = {} }) {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: version, ...params }),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`${service} ${action}: HTTP ${response.status}: ${body}`);
  return body;
}

/**
 * One call of an AWS JSON-protocol API (Step Functions: `target` AWSStepFunctions.<Action>) to the
 * emulator, signed like awsQuery. Resolves with `{ status, body }` (body parsed), whatever the status.
 */
export async function awsJson(url, { region = 'us-east-1', service, target, body = {} }) {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': target,
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}
