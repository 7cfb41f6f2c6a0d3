// One Lambda execution environment: a function process and the Runtime API server it polls.
//
// The Lambda binary runs the real `lambda_runtime` loop: GET /next (long poll), then POST
// /response or /error. Serving that API, rather than calling an Invoke API in front of the
// binary, keeps the function's errorType intact all the way to Retry/Catch.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import readline from 'node:readline';

const PREFIX = '/2018-06-01/runtime';
const TIMEOUT_GRACE_MS = 100;

/** What an invocation failed with, in Step Functions' terms: error name and cause. */
export class InvocationError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

/**
 * Lambda answers an environment failure (crash, init failure, timeout) with a payload that
 * names no function errorType of ours; Step Functions reports those as Lambda.Unknown.
 */
function unknownError(errorType, errorMessage) {
  const payload = JSON.stringify({ errorType, errorMessage });
  return new InvocationError(
    'Lambda.Unknown',
    `The cause could not be determined because Lambda did not return an error type. Returned payload: ${payload}`,
  );
}

const traceId = () =>
  `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};` +
  `Parent=${randomBytes(8).toString('hex')};Sampled=0`;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

export class Environment {
  /**
   * @param {object} o
   * @param {string} o.name function name (the handler the binary runs, `_HANDLER` in `env`)
   * @param {string} o.arn the function ARN given to the runtime
   * @param {string} o.binPath the executable
   * @param {object} o.env environment without the per-environment Runtime API address
   * @param {'ignore'|number|((name: string, line: string) => void)} o.logs where stdout/stderr go
   */
  constructor({ name, arn, binPath, env, logs }) {
    Object.assign(this, { name, arn, binPath, env, logs });
    this.current = null; // the invocation being run: one at a time, like Lambda
    this.waiting = null; // the runtime's pending GET /next
    this.dead = false;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.ready = this.#start().catch((error) => this.#died(unknownError('Runtime.Unknown', error.message)));
  }

  /** True when the environment can take an invocation now. */
  get idle() {
    return !this.dead && !this.current;
  }

  async #start() {
    this.server = http.createServer((req, res) => this.#route(req, res).catch(() => res.destroy()));
    // The runtime keeps one connection and long-polls /next on it: no idle cut-off.
    this.server.keepAliveTimeout = 0;
    this.server.requestTimeout = 0;
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    if (this.dead) return; // stopped while the server was starting
    const { port } = this.server.address();

    const stdio = typeof this.logs === 'function' ? ['ignore', 'pipe', 'pipe'] : ['ignore', this.logs, this.logs];
    // Its own process group, so that stopping it also stops anything it started.
    this.child = spawn(this.binPath, [], {
      env: { ...this.env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}` },
      stdio,
      detached: true,
    });
    if (typeof this.logs === 'function') {
      for (const stream of [this.child.stdout, this.child.stderr]) {
        readline.createInterface({ input: stream }).on('line', (line) => this.logs(this.name, line));
      }
    }
    this.child.on('error', (error) => this.#died(unknownError('Runtime.InvalidEntrypoint', error.message)));
    this.child.on('exit', (code, signal) => {
      const status = signal ? `signal: ${signal}` : `exit status ${code}`;
      const requestId = this.current?.id ?? randomUUID();
      this.#died(
        unknownError('Runtime.ExitError', `RequestId: ${requestId} Error: Runtime exited with error: ${status}`),
      );
    });
  }

  /** Runs one invocation; resolves with the function's result or rejects with an InvocationError. */
  invoke(payload, timeoutMs) {
    if (!this.idle) throw new Error(`environment of ${this.name} is busy`);
    const id = randomUUID();
    const invocation = { id, payload, timeoutMs, delivered: false };
    this.current = invocation;
    const promise = new Promise((resolve, reject) => Object.assign(invocation, { resolve, reject }));
    if (timeoutMs) {
      // Lambda stops an environment whose invocation overruns its timeout. The grace lets the
      // Task's own TimeoutSeconds (States.Timeout) win when both are the same.
      invocation.timer = setTimeout(() => {
        const seconds = (timeoutMs / 1000).toFixed(2);
        this.stop(); // marks the environment dead at once: it takes no further invocation
        this.#finish(invocation, unknownError('Sandbox.Timedout', `RequestId: ${id} Error: Task timed out after ${seconds} seconds`));
      }, timeoutMs + TIMEOUT_GRACE_MS);
    }
    this.#deliver();
    return promise;
  }

  #deliver() {
    const invocation = this.current;
    if (!invocation || invocation.delivered || !this.waiting) return;
    const res = this.waiting;
    this.waiting = null;
    invocation.delivered = true;
    const deadline = Date.now() + (invocation.timeoutMs || 15 * 60 * 1000);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': invocation.id,
      'Lambda-Runtime-Deadline-Ms': String(deadline),
      'Lambda-Runtime-Invoked-Function-Arn': this.arn,
      'Lambda-Runtime-Trace-Id': traceId(),
    });
    res.end(JSON.stringify(invocation.payload ?? {}));
  }

  #finish(invocation, error, result) {
    if (this.current !== invocation) return;
    clearTimeout(invocation.timer);
    this.current = null;
    if (error) invocation.reject(error);
    else invocation.resolve(result);
  }

  #died(error) {
    this.dead = true;
    if (this.current) this.#finish(this.current, error);
    this.markExited();
    this.#closeServer();
  }

  async #route(req, res) {
    const path = req.url.split('?')[0];
    const body = req.method === 'POST' ? await readBody(req) : '';

    if (req.method === 'GET' && path === `${PREFIX}/invocation/next`) {
      if (this.waiting) this.waiting.destroy();
      this.waiting = res;
      res.on('close', () => this.waiting === res && (this.waiting = null));
      return this.#deliver();
    }

    if (req.method === 'POST' && path === `${PREFIX}/init/error`) {
      reply(res, 202, { status: 'OK' });
      // Lambda discards an environment whose init failed and reports the pending invocation.
      const { errorType, errorMessage } = parseJson(body) ?? {};
      this.dead = true;
      if (this.current) this.#finish(this.current, unknownError(errorType || 'Runtime.InitError', errorMessage ?? body));
      return this.stop();
    }

    const match = new RegExp(`^${PREFIX}/invocation/([^/]+)/(response|error)$`).exec(path);
    if (req.method === 'POST' && match) {
      const [, id, kind] = match;
      const invocation = this.current;
      if (!invocation || invocation.id !== id || !invocation.delivered) {
        return reply(res, 400, { errorType: 'InvalidRequestID', errorMessage: `unknown request id ${id}` });
      }
      reply(res, 202, { status: 'OK' });
      if (kind === 'response') {
        return this.#finish(invocation, null, body === '' ? null : (parseJson(body) ?? body));
      }
      // The function's own error: Step Functions names it by errorType and gives the
      // payload as the cause; without an errorType it becomes Lambda.Unknown.
      const errorType = parseJson(body)?.errorType;
      const error = errorType
        ? new InvocationError(errorType, body.trim())
        : new InvocationError(
            'Lambda.Unknown',
            `The cause could not be determined because Lambda did not return an error type. Returned payload: ${body.trim()}`,
          );
      return this.#finish(invocation, error);
    }

    reply(res, 404, { errorType: 'NotFound', errorMessage: `no route for ${req.method} ${path}` });
  }

  #closeServer() {
    if (!this.server?.listening) return;
    this.server.close();
    this.server.closeAllConnections();
  }

  /** Kills the process group at once: the last resort when the runner itself is exiting. */
  killNow() {
    const child = this.child;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Stops the process (TERM, then KILL) and the server. Safe to call more than once. */
  async stop() {
    this.dead = true;
    await this.ready;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const signalGroup = (signal) => {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      };
      signalGroup('SIGTERM');
      const killed = setTimeout(() => signalGroup('SIGKILL'), 1000);
      await this.exited;
      clearTimeout(killed);
    } else if (!child) {
      this.#died(unknownError('Runtime.ExitError', 'the environment was stopped'));
    }
    this.#closeServer();
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
