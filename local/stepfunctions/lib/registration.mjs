// --register-execution: every execution the runner runs is also an execution of the Step Functions
// API at --endpoint (moto, in local/emulator/rds_emulator.py), so that what reads executions there
// sees it as AWS would: a task that calls DescribeExecution on `$$.Execution.Id` (the lock
// takeover), a repair state machine that reads an execution's history.
//
// Before the run: CreateStateMachine (or the one of that name that exists), then StartExecution
// with the execution's name and input; the ARNs it answers become `$$.StateMachine.Id` and
// `$$.Execution.Id`. moto's own interpreter stays off (the emulator's default), so moto keeps the
// execution RUNNING; when the run ends, the runner reports how it ended, and the states it
// entered, to the emulator's control API (POST /_emulator/execution), which DescribeExecution
// and GetExecutionHistory then answer from.
//
// References (Step Functions API Reference): API_CreateStateMachine (name, definition, roleArn;
// "an idempotent API", the check "based on the state machine name, definition, type, ..." and a
// differing roleArn ignored; StateMachineAlreadyExists: "A state machine with the same name but
// a different definition or role ARN already exists"; moto 5.2.5 answers with the existing one
// whatever its definition), API_ListStateMachines (stateMachines, nextToken),
// API_StartExecution (executionArn, startDate); STS API Reference, API_GetCallerIdentity
// (Account), for the account of the role ARN.
import { REGION, SetupError } from './definition.mjs';
import { startExecution } from './start-execution.mjs';
import { callService } from './sns.mjs';

const ALREADY_EXISTS = new Set(['StateMachineAlreadyExists', 'ConflictException']);

/** The region of a Step Functions ARN; moto keeps state machines per region. */
export const regionOfArn = (arn) => /^arn:aws[\w-]*:states:([\w-]+):/.exec(arn)?.[1] ?? null;

/** A Step Functions API error answered to the runner's own calls (not a state's). */
class ApiError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** One call of the Step Functions JSON API at `endpoint`: the parsed answer, or an ApiError. */
async function sfn(endpoint, region, action, body) {
  const { url, response, text } = await call(endpoint, {
    service: 'states',
    region,
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AWSStepFunctions.${action}` },
    body: JSON.stringify(body),
  });
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // Not JSON: reported below.
  }
  if (!response.ok || answer === null) {
    const code = (answer?.__type ?? response.headers.get('x-amzn-errortype') ?? `HTTP ${response.status}`).split('#').pop().split(':')[0];
    throw new ApiError(code, answer?.message ?? answer?.Message ?? `${text.slice(0, 300)} (from ${url})`);
  }
  return answer;
}

/** callService with the runner's own error: nothing answering at the endpoint is a setup error here. */
async function call(endpoint, request) {
  try {
    return await callService(endpoint, { ...request, errorPrefix: 'Local' });
  } catch (error) {
    throw new ApiError('Unreachable', error.message);
  }
}

/** The account the endpoint's credentials belong to (STS GetCallerIdentity, query API). */
async function callerAccount(endpoint, region) {
  const { url, response, text } = await call(endpoint, {
    service: 'sts',
    region,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({ Action: 'GetCallerIdentity', Version: '2011-06-15' }),
  });
  const account = /<Account>(\d{12})<\/Account>/.exec(text)?.[1];
  if (!response.ok || !account) throw new ApiError('GetCallerIdentity', `HTTP ${response.status} from ${url}: ${text.slice(0, 300)}`);
  return account;
}

/**
 * The Step Functions API at `endpoint`, as the runner registers its executions there.
 * `region` is where the runner's own state machines are created (the functions' AWS_REGION).
 */
export class Registration {
  static async connect(endpoint, region = REGION) {
    try {
      return new Registration(endpoint, region, await callerAccount(endpoint, region));
    } catch (error) {
      throw new SetupError(`--register-execution: cannot reach the Step Functions API at ${endpoint}: ${error.message}`);
    }
  }

  constructor(endpoint, region, account) {
    this.endpoint = endpoint;
    this.region = region;
    this.account = account;
    this.machines = new Map(); // `${region}/${name}` -> ARN
  }

  roleArn(name) {
    return `arn:aws:iam::${this.account}:role/${name}-local`;
  }

  /** The ARN a state machine `name` has in `region` (AWS's and moto's form), before it is created. */
  expectedArn(name, region = this.region) {
    return `arn:aws:states:${region}:${this.account}:stateMachine:${name}`;
  }

  /**
   * The ARN of state machine `name` in `region`: created with `definition` (JSON text), or the
   * one of that name that exists. Throws a SetupError.
   */
  async stateMachine(name, definition, region = this.region) {
    const key = `${region}/${name}`;
    if (!this.machines.has(key)) this.machines.set(key, this.#create(name, definition, region));
    return this.machines.get(key);
  }

  async #create(name, definition, region) {
    try {
      const created = await sfn(this.endpoint, region, 'CreateStateMachine', { name, definition, roleArn: this.roleArn(name) });
      return created.stateMachineArn;
    } catch (error) {
      if (!ALREADY_EXISTS.has(error.code)) throw new SetupError(`cannot create state machine ${name} at ${this.endpoint}: ${error.message}`);
    }
    // Another definition under that name: the execution is registered under the one that exists.
    let nextToken;
    do {
      const page = await sfn(this.endpoint, region, 'ListStateMachines', nextToken ? { nextToken } : {});
      const found = page.stateMachines?.find((machine) => machine.name === name);
      if (found) return found.stateMachineArn;
      nextToken = page.nextToken;
    } while (nextToken);
    throw new SetupError(`state machine ${name} exists at ${this.endpoint} (CreateStateMachine said so) but ListStateMachines does not list it`);
  }

  /**
   * StartExecution of `stateMachineArn` with `name` (optional) and `input` (JSON text), as the
   * states:startExecution integration makes it: `{ executionArn, startDate }` (epoch ms), or
   * the InvocationError Step Functions would fail the state with
   * (StepFunctions.ExecutionAlreadyExistsException, ...).
   */
  async start(stateMachineArn, name, input) {
    const started = await startExecution(this.endpoint, { StateMachineArn: stateMachineArn, Name: name, Input: input });
    return { executionArn: started.ExecutionArn, startDate: started.StartDate };
  }

  /**
   * Reports how execution `executionArn` ended to the emulator's control API:
   * `{executionArn, status, output?, error?, cause?, states}`. Resolves with null, or with the
   * reason it could not (the caller reports it as a setup error).
   */
  async report(report) {
    const url = `${this.endpoint.replace(/\/+$/, '')}/_emulator/execution`;
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(report) });
      if (response.ok) return null;
      const text = await response.text();
      let reason = text.slice(0, 300);
      try {
        reason = JSON.parse(text).error ?? reason;
      } catch {
        // Not JSON: the text as it is.
      }
      return `HTTP ${response.status} from ${url}: ${reason}`;
    } catch (error) {
      return `${url}: ${error.cause?.message ?? error.message}`;
    }
  }
}
