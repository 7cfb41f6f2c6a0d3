// The local Lambda service: functions started lazily, kept warm, one invocation per process.
// Every function runs the same binary (rds-refresh-lambda), which serves the task its `_HANDLER`
// names, as Lambda sets it from the function's Handler setting: here the function's name.
import { randomBytes } from 'node:crypto';

import { functionArn, REGION, SetupError } from './definition.mjs';
import { Environment, InvocationError } from './runtime-api.mjs';

/**
 * The environment of a function process: the runner's own (credentials, AWS_MAX_ATTEMPTS,
 * RUST_LOG...), dummy credentials and a region when missing, and the variables Lambda sets,
 * `_HANDLER` (the function's name: the handler the binary dispatches on) among them.
 * `accessKeyId`, when given, replaces the environment's AWS_ACCESS_KEY_ID (see accessKeyIds).
 */
export function functionEnv(name, { baseEnv = process.env, endpoint, accessKeyId } = {}) {
  const env = {};
  for (const [key, value] of Object.entries(baseEnv)) {
    // Lambda's own variables come from here only; the log settings are the user's choice.
    const lambdaOwned = key.startsWith('AWS_LAMBDA_') && key !== 'AWS_LAMBDA_LOG_FORMAT' && key !== 'AWS_LAMBDA_LOG_LEVEL';
    if (!lambdaOwned && key !== '_X_AMZN_TRACE_ID') env[key] = value;
  }
  if (accessKeyId) env.AWS_ACCESS_KEY_ID = accessKeyId;
  env.AWS_ACCESS_KEY_ID ??= 'test';
  env.AWS_SECRET_ACCESS_KEY ??= 'test';
  env.AWS_REGION ??= REGION;
  if (endpoint) env.AWS_ENDPOINT_URL = endpoint;
  env.AWS_LAMBDA_LOG_FORMAT ??= 'JSON';

  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    ...env,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${date}/[$LATEST]${randomBytes(16).toString('hex')}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: 'AWS_Lambda_provided.al2023',
    // The function's Handler setting in deploy/template.yaml: the task's name.
    _HANDLER: name,
  };
}

/**
 * The access key id of each function (function name -> key) for --access-key-per-function: the
 * function's logical name, its placeholder in the functions file without the trailing `Arn`
 * (`RenameTargetFunctionArn` -> `RenameTargetFunction`, its logical id in the SAM template), so
 * that an emulator's call log can say which function made each call. Throws a SetupError when
 * two placeholders name the same function: one process could not tell them apart.
 */
export function accessKeyIds(functions) {
  const placeholders = new Map(); // function name -> placeholder
  for (const [placeholder, name] of Object.entries(functions)) {
    if (placeholders.has(name)) {
      throw new SetupError(
        `--access-key-per-function: ${placeholders.get(name)} and ${placeholder} both name the function ${name}: ` +
          'their calls could not be told apart',
      );
    }
    placeholders.set(name, placeholder);
  }
  return new Map([...placeholders].map(([name, placeholder]) => [name, placeholder.replace(/Arn$/, '')]));
}

export class LocalLambda {
  /**
   * @param {object} o
   * @param {string} o.binary the executable every function runs, with `_HANDLER` = its name
   * @param {Iterable<string>} o.functions the function (handler) names that exist
   * @param {string} [o.endpoint] AWS_ENDPOINT_URL for the functions
   * @param {'ignore'|number|Function} [o.logs] see Environment
   * @param {Map<string, string>|null} [o.accessKeyIds] each function's AWS_ACCESS_KEY_ID (see
   *   accessKeyIds); a function not in it gets its own name. Null: the environment's key
   */
  constructor({ binary, functions, endpoint, logs = 'ignore', accessKeyIds = null }) {
    Object.assign(this, { binary, endpoint, logs, accessKeyIds });
    this.functions = new Set(functions);
    this.pool = new Map(); // name -> live environments
    this.started = []; // every environment ever started, to stop them all
    this.closed = false;
  }

  /** Invokes function `name` as RequestResponse; rejects with an InvocationError on failure. */
  async invoke(name, payload, timeoutMs) {
    if (this.closed) {
      throw new InvocationError('Lambda.ServiceException', 'the local Lambda service is shutting down');
    }
    if (!this.functions.has(name)) {
      throw new InvocationError('Lambda.ResourceNotFoundException', `Function not found: ${functionArn(name)}`);
    }
    const live = (this.pool.get(name) ?? []).filter((e) => !e.dead);
    // Concurrent invokes (Map, Parallel) get their own environment, as in Lambda.
    let environment = live.find((e) => e.idle);
    if (!environment) {
      environment = new Environment({
        name,
        arn: functionArn(name),
        binPath: this.binary,
        env: functionEnv(name, { endpoint: this.endpoint, accessKeyId: this.#accessKeyId(name) }),
        logs: this.logs,
      });
      live.push(environment);
      this.started.push(environment);
    }
    this.pool.set(name, live);
    return environment.invoke(payload, timeoutMs);
  }

  /**
   * With per-function keys, a function that has no placeholder (a function ARN written in the
   * definition) goes by its function name: still told apart from the others.
   */
  #accessKeyId(name) {
    return this.accessKeyIds ? (this.accessKeyIds.get(name) ?? name) : undefined;
  }

  /** Process ids of every function process started so far. */
  pids() {
    return this.started.map((e) => e.child?.pid).filter(Boolean);
  }

  /** Kills every function process at once (synchronous: usable in an 'exit' handler). */
  killNow() {
    this.closed = true;
    for (const environment of this.started) environment.killNow();
  }

  /** Stops every environment; later invokes fail at once instead of starting processes. */
  async stop() {
    this.closed = true;
    await Promise.all(this.started.map((e) => e.stop()));
  }
}
