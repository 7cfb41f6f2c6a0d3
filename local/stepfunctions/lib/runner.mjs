// Runs a definition with aws-local-stepfunctions, its Task states backed by local Lambda functions
// (sns:publish by the SNS API and states:startExecution by the Step Functions API at the run's
// endpoint; states:startExecution.sync and .sync:2 by a nested run here, see session.mjs).
import {
  allStates,
  functionNameOf,
  SetupError,
  SNS_PUBLISH,
  stateMachineNameOf,
  STATES_START_EXECUTION,
  STATES_START_EXECUTION_SYNC,
  STATES_START_EXECUTION_SYNC2,
  taskKind,
} from './definition.mjs';
// aws-local-stepfunctions, with States.Hash corrected (see interpreter.mjs).
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from './interpreter.mjs';
import { mockedTask, UnrunnableStateError } from './mock-config.mjs';
import { InvocationError } from './runtime-api.mjs';
import { publish } from './sns.mjs';
import { startExecution } from './start-execution.mjs';
import { planTiming } from './timing.mjs';

// The interpreter's own default when a Task has no TimeoutSeconds (AWS has none).
const DEFAULT_TASK_TIMEOUT_SECONDS = 60;

// The integrations the runner does itself against the AWS APIs at the run's endpoint, and what each calls there.
const ENDPOINT_INTEGRATIONS = {
  [SNS_PUBLISH]: { call: publish, what: 'it publishes to the SNS API there', missing: 'there is no --endpoint to publish to' },
  [STATES_START_EXECUTION]: {
    call: startExecution,
    what: 'it starts the execution through the Step Functions API there',
    missing: 'there is no --endpoint to start the execution at',
  },
};

// The integrations that run a child execution here, nested, and whether they parse its Input and Output.
const NESTED_INTEGRATIONS = {
  [STATES_START_EXECUTION_SYNC]: { sync2: false },
  [STATES_START_EXECUTION_SYNC2]: { sync2: true },
};

// A .sync Task without TimeoutSeconds waits as long as its child runs (AWS gives Task states no
// timeout of their own; the interpreter would give it 60 s): the longest timer Node can set, in s.
const NESTED_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The function names a definition invokes that are known before it runs, leaving out the
 * states in `except` (those a mock test case answers).
 */
export function staticFunctions(definition, { except = null } = {}) {
  const names = new Set();
  for (const [name, state] of allStates(definition)) {
    if (state.Type !== 'Task' || except?.has(name)) continue;
    let kind;
    try {
      kind = taskKind(name, state);
    } catch (error) {
      // With a mock test case, a state that cannot run here matters only if the case reaches it.
      if (except && error instanceof SetupError) continue;
      throw error;
    }
    if (kind.functionName) names.add(kind.functionName);
  }
  return names;
}

/**
 * The setup checks that depend on the run's options, before anything starts: every Task
 * resource can run here (sns:publish and states:startExecution need an `endpoint`; a
 * states:startExecution.sync or .sync:2 of a state machine needs that machine's name in
 * `machines`, the --state-machine names), and every `failAfter` and `abortAfter` name is a Task
 * state of the definition. Throws a SetupError.
 *
 * With a mock test case (`mocking`), which states run for real depends on the path the case
 * takes: a state that cannot run is reported when the case reaches it (see prepareRun).
 */
export function checkRunnable(definition, { endpoint, failAfter = [], abortAfter = [], mocking = false, machines = new Set() } = {}) {
  const states = new Map(allStates(definition));
  for (const [name, state] of states) {
    if (state.Type !== 'Task' || mocking) continue;
    const { integration } = taskKind(name, state);
    if (ENDPOINT_INTEGRATIONS[integration] && !endpoint) {
      throw new SetupError(
        `state ${name}: Resource ${JSON.stringify(integration)} cannot run locally without --endpoint ` +
          `(${ENDPOINT_INTEGRATIONS[integration].what})`,
      );
    }
    if (NESTED_INTEGRATIONS[integration]) checkNested(name, state, machines);
  }
  for (const [flag, names] of [['--fail-after', failAfter], ['--abort-after', abortAfter]]) {
    for (const name of names) {
      const state = states.get(name);
      if (!state) throw new SetupError(`${flag} ${name}: the definition has no state of that name`);
      if (state.Type !== 'Task') throw new SetupError(`${flag} ${name}: a ${state.Type} state, not a Task`);
    }
  }
}

/** A .sync StartExecution can run only the state machines --state-machine gives a definition for. */
function checkNested(name, state, machines) {
  const arn = state.Parameters?.StateMachineArn;
  const cannot = (why) => new SetupError(`state ${name}: Resource ${JSON.stringify(state.Resource)} cannot run locally ${why}`);
  if (arn === undefined) {
    // From a path (StateMachineArn.$): known when the state is reached, checked then.
    if (machines.size === 0) throw cannot('without a --state-machine NAME=DEFINITION_FILE (it runs the child execution here, nested)');
    return;
  }
  const machine = stateMachineNameOf(arn);
  if (!machine) throw new SetupError(`state ${name}: StateMachineArn ${JSON.stringify(arn)} is not a state machine ARN`);
  if (!machines.has(machine)) {
    throw cannot(`without a --state-machine ${machine}=DEFINITION_FILE (it runs state machine ${machine}'s definition here, nested)`);
  }
}

/**
 * The handler that does the work of Task state `name`: a Lambda invoke, an SNS Publish, a
 * StartExecution, or a nested execution (`nesting`: the session, the running children and the
 * progress of the execution the state belongs to).
 */
function taskHandler(name, state, { lambda, endpoint, nesting }) {
  const { integration, wrap, functionName } = taskKind(name, state);
  const nested = NESTED_INTEGRATIONS[integration];
  if (nested) {
    const timeoutMs = state.TimeoutSeconds ? state.TimeoutSeconds * 1000 : null;
    const { session, children, progress } = nesting;
    return (input) => session.runNested(input, { sync2: nested.sync2, timeoutMs, state: name, children, progress });
  }
  // The deadline follows the state's timeout; a path-given timeout is unknown here.
  const timeoutMs = state.TimeoutSecondsPath ? null : (state.TimeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS) * 1000;
  const onEndpoint = ENDPOINT_INTEGRATIONS[integration];
  if (onEndpoint) return (input) => onEndpoint.call(endpoint, input, { timeoutMs });
  if (!wrap) return (input) => lambda.invoke(functionName, input, timeoutMs);
  return async (input) => {
    const target = functionNameOf(input?.FunctionName);
    if (!target) {
      throw new InvocationError('Lambda.ResourceNotFoundException', `Function not found: ${JSON.stringify(input?.FunctionName)}`);
    }
    const payload = await lambda.invoke(target, input.Payload ?? {}, timeoutMs);
    // What the lambda:invoke integration returns: the function's result under Payload.
    return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
  };
}

/**
 * `handler`, except that the first time its work succeeds the result is dropped and the state
 * fails with Local.InjectedFailure: the step took effect, but the state machine never heard so
 * (a Lambda timing out after its RDS call). Retry/Catch see it like any other error.
 */
function failingOnce(name, handler) {
  let armed = true;
  return async (input) => {
    const result = await handler(input);
    if (!armed) return result;
    armed = false;
    throw new InvocationError('Local.InjectedFailure', `injected failure after ${name}`);
  };
}

/**
 * `handler`, except that the first time its work succeeds the execution is stopped the way
 * StopExecution stops it (`control.abortAfter`): no Retry, no Catch, no further state; the
 * execution ends ABORTED. As AWS recorded a StopExecution during a Wait (localstack's
 * test_sfn_api.snapshot.json, test_stop_execution, 2024-05-06): ExecutionStarted,
 * WaitStateEntered, then ExecutionAborted, with no StateExited and nothing after; a stop is no
 * state's error, so no Retry or Catch sees it. The result is returned, but the interpreter,
 * aborted, moves on to nothing (its events after the abort are dropped).
 */
function abortingOnce(name, handler, control) {
  let armed = true;
  return async (input) => {
    const result = await handler(input);
    if (armed) {
      armed = false;
      control.abortAfter(name);
    }
    return result;
  };
}

/**
 * The handler of a Task state that mock test case `testCase` does not mock: the real work when
 * it can run here, and otherwise one that stops the run, when the case reaches the state, with
 * a setup error saying what is missing. Unreached states need nothing.
 */
function unmockedHandler(name, state, { lambda, endpoint, nesting, testCase, file }) {
  const unrunnable = (why) => async () => {
    throw new UnrunnableStateError(
      `test case ${testCase} reaches Task state ${name}, which it does not mock, and ${why}: ` +
        `mock ${name} in that test case of ${file}`,
    );
  };
  let kind;
  try {
    kind = taskKind(name, state);
  } catch (error) {
    if (error instanceof SetupError) return unrunnable(`it cannot run locally (${error.message})`);
    throw error;
  }
  const onEndpoint = ENDPOINT_INTEGRATIONS[kind.integration];
  if (onEndpoint && !endpoint) return unrunnable(onEndpoint.missing);
  if (NESTED_INTEGRATIONS[kind.integration]) {
    try {
      checkNested(name, state, nesting.session.machines);
    } catch (error) {
      return unrunnable(error.message);
    }
  } else if (!onEndpoint && !lambda) return unrunnable('there is no --binary to run its function');
  return taskHandler(name, state, { lambda, endpoint, nesting });
}

/**
 * What the interpreter runs: `definition` (a copy with scaled times under `timeScale`, see
 * timing.mjs, and with the .sync Tasks' timeouts written out), the run `overrides`, `waitStates`,
 * the Wait states that the copy turns into Tasks (execute reports their events as Wait events
 * again), and `control`, through which --abort-after stops the execution (execute sets it up).
 *
 * The overrides are a local handler per Task state (failing once after its work for the states
 * in `failAfter`, stopping the execution after it for those in `abortAfter`) and the times of
 * Wait states and Retry pauses: the definition's with `realWaits`, `timeScale` times the
 * definition's with `timeScale`, and otherwise `waitMs` for every Wait and `retryIntervalMs`
 * for every Retry pause (MaxAttempts and retry counts stay).
 * `endpoint` is where sns:publish publishes and states:startExecution starts (see checkRunnable);
 * `nesting` (`{ session, children, progress }`, from Session.run) runs the .sync ones. `lambda`
 * may be null when a mock test case (`mock`, from selectTestCase) is given: the states it mocks
 * answer from the mock config, and the others run for real when they can.
 */
export function prepareRun(
  definition,
  lambda,
  {
    waitMs = 10,
    retryIntervalMs = 10,
    realWaits = false,
    timeScale = null,
    endpoint,
    failAfter = [],
    abortAfter = [],
    mock = null,
    nesting = null,
  } = {},
) {
  const timing = planTiming(definition, { timeScale, realWaits, waitMs, retryIntervalMs });
  const taskResourceLocalHandlers = { ...timing.taskResourceLocalHandlers };
  const failing = new Set(failAfter);
  const aborting = new Set(abortAfter);
  const control = {
    execution: null,
    abortedAfter: null,
    abortAfter(name) {
      this.abortedAfter ??= name;
      this.execution?.abort();
    },
  };

  for (const [name, state] of allStates(definition)) {
    if (state.Type !== 'Task') continue;
    let handler;
    if (mock?.mocks.has(name)) handler = mockedTask(name, mock.mocks.get(name), mock);
    else if (mock) handler = unmockedHandler(name, state, { lambda, endpoint, nesting, testCase: mock.testCase, file: mock.file });
    else handler = taskHandler(name, state, { lambda, endpoint, nesting });
    if (failing.has(name)) handler = failingOnce(name, handler);
    if (aborting.has(name)) handler = abortingOnce(name, handler, control);
    taskResourceLocalHandlers[name] = handler;
  }
  return {
    definition: withNestedTimeouts(timing.definition),
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides: timing.waitTimeOverrides,
      retryIntervalOverrides: timing.retryIntervalOverrides,
    },
    waitStates: timing.waitStates,
    control,
  };
}

/** `definition`, or a copy whose .sync Tasks without a timeout have the longest one (see NESTED_TIMEOUT_SECONDS). */
function withNestedTimeouts(definition) {
  const untimed = (state) =>
    state.Type === 'Task' && NESTED_INTEGRATIONS[state.Resource] && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined;
  if (![...allStates(definition)].some(([, state]) => untimed(state))) return definition;
  const copy = structuredClone(definition);
  for (const [, state] of allStates(copy)) if (untimed(state)) state.TimeoutSeconds = NESTED_TIMEOUT_SECONDS;
  return copy;
}

/** The events, with the Wait states that ran as Task stand-ins (see prepareRun) shown as Waits. */
async function* asWaits(eventLogs, waitStates) {
  for await (const event of eventLogs) {
    if (event.state && waitStates.has(event.state.name)) event.state.type = 'Wait';
    yield event;
  }
}

// The account and region of the ARNs the runner makes up (function ARNs use the same), unless
// the execution is registered (--register-execution): then they are the endpoint's.
export const LOCAL_ARN_PREFIX = 'arn:aws:states:us-east-1:000000000000';

/**
 * The context object (`$$`) AWS gives an execution: its ARN, name, input and start time, and
 * the state machine's ARN and name. The interpreter adds the `State` part as it runs. The ARNs
 * and the role are made up unless given (those of the registered execution).
 */
export function executionContext({ stateMachineName, executionName, input, startTime = new Date(), executionArn, stateMachineArn, roleArn }) {
  return {
    Execution: {
      Id: executionArn ?? `${LOCAL_ARN_PREFIX}:execution:${stateMachineName}:${executionName}`,
      Input: input,
      Name: executionName,
      RoleArn: roleArn ?? `arn:aws:iam::000000000000:role/${stateMachineName}-local`,
      StartTime: startTime.toISOString(),
      RedriveCount: 0,
    },
    StateMachine: { Id: stateMachineArn ?? `${LOCAL_ARN_PREFIX}:stateMachine:${stateMachineName}`, Name: stateMachineName },
  };
}

/**
 * Starts one execution and settles with its outcome:
 * `{ status: 'SUCCEEDED', output }`, `{ status: 'FAILED' | 'TIMED_OUT', error, cause }` or
 * `{ status: 'ABORTED', abortedAfter }` (the --abort-after state that stopped it, or null), each
 * with `states`, the `{name, type}` of every state the execution entered, in order (the Wait
 * stand-ins as Waits). `onStart` receives the execution (for `abort()`). `definition`,
 * `overrides`, `waitStates` and `control` are those of prepareRun; `children` the nested
 * executions its .sync Tasks run (Session.runNested), stopped when it ends before them, as Step
 * Functions stops what a .sync Task manages when the Task is aborted (a Batch job stopped with
 * the parent ends with the reason "The Task state in AWS Step Functions execution [<arn>] which
 * was managing this resource was aborted", Stack Overflow 45596276; floci stops a nested
 * child with the same cause, AslExecutorNestedStartExecutionTest). Not documented for a child
 * execution: here it ends ABORTED.
 */
export async function execute({ definition, input, context, overrides, waitStates = new Set(), control, children, progress, onStart }) {
  // The caller has validated with asl-validator 4 (the interpreter bundles an older 3.x):
  // validating twice would only cost time.
  const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
  const execution = machine.run(input, { overrides, context });
  if (control) control.execution = execution;
  onStart?.(execution);
  const states = [];
  const consuming = (async () => {
    for await (const event of asWaits(execution.eventLogs, waitStates)) {
      if (event.type === 'StateEntered') states.push({ name: event.state.name, type: event.state.type });
      progress?.handle(event);
    }
  })();
  try {
    return { ...(await settle(execution, control)), states };
  } finally {
    for (const child of children ?? []) child.stop();
    await Promise.all([...(children ?? [])].map((child) => child.done));
    // The event log closes with the execution's last event.
    await consuming;
  }
}

/** How the execution ended (see execute). */
async function settle(execution, control) {
  try {
    return { status: 'SUCCEEDED', output: await execution.result };
  } catch (error) {
    if (error instanceof ExecutionAbortedError) return { status: 'ABORTED', abortedAfter: control?.abortedAfter ?? null };
    if (error instanceof ExecutionTimeoutError) {
      return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'the execution exceeded its TimeoutSeconds' };
    }
    if (error instanceof ExecutionError) {
      // Not the state machine's failure but the run's: a test case needs a state it does not
      // mock, or a nested execution cannot run.
      if (error.cause instanceof UnrunnableStateError) throw new SetupError(error.cause.message);
      // The library keeps the state's error as `cause`: its name is the error, its message the cause.
      return { status: 'FAILED', error: error.cause?.name, cause: error.cause?.message };
    }
    throw error;
  }
}
