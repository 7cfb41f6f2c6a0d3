// Shared by the tests: a sandbox with fake function binaries, and running the real CLIs.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..');
export const fixture = (name) => path.join(here, 'fixtures', name);
export const FUNCTIONS = fixture('functions.json');

/**
 * A temporary directory with a bin/ of fake function binaries (each a wrapper that execs the
 * Node fake function, so the process id is the function's own) and a state/ directory.
 */
export async function sandbox(t, binaries = ['echo-function', 'poll-function']) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'local-sfn-test-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  await fs.mkdir(bin);
  await fs.mkdir(state);
  for (const name of binaries) {
    const wrapper = `#!/bin/sh\nexec "${process.execPath}" "${fixture('fake-function.mjs')}" "$@"\n`;
    await fs.writeFile(path.join(bin, name), wrapper, { mode: 0o755 });
  }
  return {
    dir,
    bin,
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
  '--definition', fixture(definition), '--functions', FUNCTIONS, '--bin-dir', box.bin, '--input', input, ...more,
];

/**
 * Runs a CLI (run.mjs by default) with the Node running the tests, `stdin` as its standard input;
 * settles with its exit code, signal, stdout and stderr. `onStderr(text, child)` sees stderr as it arrives.
 */
export function runCli(args, { script = 'run.mjs', env = {}, state, stdin = '', onStderr, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const childEnv = { ...process.env, ...env };
    if (state) childEnv.FAKE_STATE_DIR = state;
    const child = spawn(process.execPath, [path.join(root, script), ...args], { env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish in ${timeoutMs} ms; stderr:\n${stderr}`));
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
