// One runner process: the execution it was asked to run, and the executions its
// states:startExecution.sync Tasks start, each run here in turn, nested, with the same functions,
// timing, endpoint and registration (see nested.mjs for what the Task gets back).
import { SetupError } from './definition.mjs';
import { UnrunnableStateError } from './mock-config.mjs';
import { childRequest, taskResult } from './nested.mjs';
import { regionOfArn } from './registration.mjs';
import { execute, executionContext, LOCAL_ARN_PREFIX, prepareRun } from './runner.mjs';
import { InvocationError } from './runtime-api.mjs';

/** `refresh` -> `RefreshStateMachineArn`, `rds-refresh` -> `RdsRefreshStateMachineArn`: the placeholder of a --state-machine's ARN. */
export const arnPlaceholderOf = (name) =>
  `${name
    .split(/[-_]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('')}StateMachineArn`;

/** The ARN of execution `name` of the state machine `stateMachineArn` (a version or alias suffix dropped). */
function executionArnOf(stateMachineArn, name) {
  const [arn, partition, service, region, account, , machine] = stateMachineArn.split(':');
  return [arn, partition, service, region, account, 'execution', machine, name].join(':');
}

export class Session {
  /**
   * `machines`: the --state-machine definitions, name -> `{ definition, text }` (substituted,
   * validated). `timing`: prepareRun's waitMs, retryIntervalMs, realWaits, timeScale.
   * `registration`: a Registration, or null. `say(line)` reports a problem on stderr.
   */
  constructor({ lambda, endpoint, registration = null, machines = new Map(), timing = {}, say }) {
    Object.assign(this, { lambda, endpoint, registration, machines, timing, say });
    // Reports the emulator refused or never got: setup errors, told when they happen.
    this.problems = [];
  }

  /** The ARN `$$.StateMachine.Id` holds for state machine `name` of the run's own: moto's when registering. */
  async stateMachineArn(name, definitionText) {
    if (!this.registration) return `${LOCAL_ARN_PREFIX}:stateMachine:${name}`;
    return this.registration.stateMachine(name, definitionText);
  }

  /**
   * Runs one execution of `definition` (state machine `machineName`, ARN `stateMachineArn`) named
   * `name` with `input` (`inputText`: its JSON text, as StartExecution takes it), registered first
   * when registering. Settles with `{ executionArn, stateMachineArn, name, startDate, stopDate,
   * input, inputText, outcome }` (dates in epoch ms; `outcome` from execute, with `states`).
   * A StartExecution that fails rejects with its InvocationError when `nested`, and with a
   * SetupError otherwise. `failAfter`, `abortAfter`, `mock` and `onStart` are as for prepareRun
   * and execute.
   */
  async run({ machineName, definition, stateMachineArn, name, input, inputText, progress, nested = false, failAfter, abortAfter, mock, onStart }) {
    let executionArn;
    let startDate;
    if (this.registration) {
      try {
        ({ executionArn, startDate } = await this.registration.start(stateMachineArn, name, inputText));
      } catch (error) {
        if (nested || !(error instanceof InvocationError)) throw error;
        throw new SetupError(`--register-execution: StartExecution of ${stateMachineArn} named ${name} failed: ${error.name}: ${error.message}`);
      }
      if (!nested) this.say(`◆ registered as ${executionArn}`);
    } else {
      executionArn = executionArnOf(stateMachineArn, name);
      startDate = Date.now();
    }
    const children = new Set();
    const prepared = prepareRun(definition, this.lambda, {
      ...this.timing,
      endpoint: this.endpoint,
      failAfter,
      abortAfter,
      mock,
      nesting: { session: this, children, progress },
    });
    const context = executionContext({
      stateMachineName: machineName,
      executionName: name,
      input,
      executionArn,
      stateMachineArn,
      roleArn: this.registration?.roleArn(machineName),
    });
    const outcome = await execute({ ...prepared, input, context, progress, onStart, children });
    const run = { executionArn, stateMachineArn, name, startDate, stopDate: Date.now(), input, inputText, outcome };
    if (this.registration) await this.#report(run);
    return run;
  }

  /** Tells the emulator how `run` ended and which states it entered (a failure is a setup problem, told on stderr). */
  async #report({ executionArn, outcome }) {
    const report = { executionArn, status: outcome.status, states: outcome.states };
    if (outcome.status === 'SUCCEEDED') report.output = JSON.stringify(outcome.output);
    if (outcome.status === 'FAILED') {
      if (typeof outcome.error === 'string') report.error = outcome.error;
      if (typeof outcome.cause === 'string') report.cause = outcome.cause;
    }
    const problem = await this.registration.report(report);
    if (problem === null) return;
    const message = `cannot report the end of ${executionArn} (${outcome.status}) to the emulator: ${problem}`;
    this.problems.push(message);
    this.say(`run.mjs: ${message}`);
  }

  /**
   * The work of a states:startExecution.sync (`sync2`: .sync:2) Task with resolved Parameters
   * `params`: runs the child from its --state-machine definition and returns what Step Functions
   * returns, or fails as it fails (nested.mjs). The child is stopped when the parent's Task gives
   * up on it (its `timeoutMs`) or the parent execution ends first (`children`, see execute).
   */
  async runNested(params, { sync2, timeoutMs, state, children, progress }) {
    const request = childRequest(params);
    const mapped = this.machines.get(request.machine);
    if (!mapped) {
      // The ARN came from a path: checkRunnable could not see it before the run.
      throw new UnrunnableStateError(
        `state ${state} starts an execution of state machine ${request.machine} (${request.stateMachineArn}), ` +
          `which has no --state-machine ${request.machine}=DEFINITION_FILE to run it from`,
      );
    }
    let execution = null;
    let stopping = false;
    const child = {
      stop() {
        stopping = true;
        execution?.abort();
      },
    };
    const running = (async () => {
      // Let the parent's events so far (its StateEntered) reach the events file before the child's.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        if (this.registration) {
          // The state machine the request names must exist there, as in AWS: created in its region.
          await this.registration.stateMachine(request.machine, mapped.text, regionOfArn(request.stateMachineArn) ?? undefined);
        }
        const run = await this.run({
          machineName: request.machine,
          definition: mapped.definition,
          stateMachineArn: request.stateMachineArn,
          name: request.name,
          input: request.input,
          inputText: request.inputText,
          progress: progress?.child(request.machine),
          nested: true,
          onStart: (started) => {
            execution = started;
            if (stopping) started.abort();
          },
        });
        return taskResult(run, { sync2 });
      } catch (error) {
        // Not the child's failure but the run's: it stops the parent too (uncatchable), up to the top.
        if (error instanceof SetupError) throw new UnrunnableStateError(error.message);
        throw error;
      }
    })();
    child.done = running.catch(() => {});
    children.add(child);
    // Set before the interpreter sets the Task's own timer of the same length, so it fires first.
    let gaveUp = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          gaveUp = true;
          child.stop();
        }, timeoutMs)
      : null;
    let settled;
    try {
      settled = { result: await running };
    } catch (error) {
      settled = { error };
    } finally {
      clearTimeout(timer);
      children.delete(child);
    }
    // The Task has timed out: the interpreter fails it with States.Timeout; what the child,
    // stopped, answers comes too late to count.
    if (gaveUp) return new Promise(() => {});
    if ('error' in settled) throw settled.error;
    return settled.result;
  }
}
