// Runs a definition with aws-local-stepfunctions, its Task states backed by local Lambda functions
// (sns:publish by the SNS API and states:startExecution by the Step Functions API at the run's endpoint).
import { allStates, functionNameOf, SetupError, SNS_PUBLISH, STATES_START_EXECUTION, taskKind } from './definition.mjs';
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
 * resource can run here (sns:publish and states:startExecution need an `endpoint`), and every
 * `failAfter` name is a Task state of the definition. Throws a SetupError.
 *
 * With a mock test case (`mocking`), which states run for real depends on the path the case
 * takes: a state that cannot run is reported when the case reaches it (see prepareRun).
 */
export function checkRunnable(definition, { endpoint, failAfter = [], mocking = false } = {}) {
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
  }
  for (const name of failAfter) {
    const state = states.get(name);
    if (!state) throw new SetupError(`--fail-after ${name}: the definition has no state of that name`);
    if (state.Type !== 'Task') throw new SetupError(`--fail-after ${name}: a ${state.Type} state, not a Task`);
  }
}

/** The handler that does the work of Task state `name`: a Lambda invoke, an SNS Publish or a StartExecution. */
function taskHandler(name, state, { lambda, endpoint }) {
  const { integration, wrap, functionName } = taskKind(name, state);
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
 * The handler of a Task state that mock test case `testCase` does not mock: the real work when
 * it can run here, and otherwise one that stops the run, when the case reaches the state, with
 * a setup error saying what is missing. Unreached states need nothing.
 */
function unmockedHandler(name, state, { lambda, endpoint, testCase, file }) {
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
  if (!onEndpoint && !lambda) return unrunnable('there is no --bin-dir to run its function from');
  return taskHandler(name, state, { lambda, endpoint });
}

/**
 * What the interpreter runs: `definition` (a copy with scaled times under `timeScale`, see
 * timing.mjs), the run `overrides`, and `waitStates`, the Wait states that the copy turns into
 * Tasks (execute reports their events as Wait events again).
 *
 * The overrides are a local handler per Task state (failing once after its work for the states
 * in `failAfter`) and the times of Wait states and Retry pauses: the definition's with
 * `realWaits`, `timeScale` times the definition's with `timeScale`, and otherwise `waitMs` for
 * every Wait and `retryIntervalMs` for every Retry pause (MaxAttempts and retry counts stay).
 * `endpoint` is where sns:publish publishes and states:startExecution starts (see checkRunnable). `lambda` may be null when a
 * mock test case (`mock`, from selectTestCase) is given: the states it mocks answer from the
 * mock config, and the others run for real when they can.
 */
export function prepareRun(
  definition,
  lambda,
  { waitMs = 10, retryIntervalMs = 10, realWaits = false, timeScale = null, endpoint, failAfter = [], mock = null } = {},
) {
  const timing = planTiming(definition, { timeScale, realWaits, waitMs, retryIntervalMs });
  const taskResourceLocalHandlers = { ...timing.taskResourceLocalHandlers };
  const failing = new Set(failAfter);

  for (const [name, state] of allStates(definition)) {
    if (state.Type !== 'Task') continue;
    let handler;
    if (mock?.mocks.has(name)) handler = mockedTask(name, mock.mocks.get(name), mock);
    else if (mock) handler = unmockedHandler(name, state, { lambda, endpoint, testCase: mock.testCase, file: mock.file });
    else handler = taskHandler(name, state, { lambda, endpoint });
    taskResourceLocalHandlers[name] = failing.has(name) ? failingOnce(name, handler) : handler;
  }
  return {
    definition: timing.definition,
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides: timing.waitTimeOverrides,
      retryIntervalOverrides: timing.retryIntervalOverrides,
    },
    waitStates: timing.waitStates,
  };
}

/** The events, with the Wait states that ran as Task stand-ins (see prepareRun) shown as Waits. */
async function* asWaits(eventLogs, waitStates) {
  for await (const event of eventLogs) {
    if (event.state && waitStates.has(event.state.name)) event.state.type = 'Wait';
    yield event;
  }
}

// The account and region of the ARNs the runner makes up (function ARNs use the same).
const LOCAL_ARN_PREFIX = 'arn:aws:states:us-east-1:000000000000';

/**
 * The context object (`$$`) AWS gives an execution: its ARN, name, input and start time, and
 * the state machine's ARN and name. The interpreter adds the `State` part as it runs.
 */
export function executionContext({ stateMachineName, executionName, input, startTime = new Date() }) {
  return {
    Execution: {
      Id: `${LOCAL_ARN_PREFIX}:execution:${stateMachineName}:${executionName}`,
      Input: input,
      Name: executionName,
      RoleArn: `arn:aws:iam::000000000000:role/${stateMachineName}-local`,
      StartTime: startTime.toISOString(),
      RedriveCount: 0,
    },
    StateMachine: { Id: `${LOCAL_ARN_PREFIX}:stateMachine:${stateMachineName}`, Name: stateMachineName },
  };
}

/**
 * Starts one execution and settles with its outcome:
 * `{ status: 'SUCCEEDED', output }`, `{ status: 'FAILED' | 'TIMED_OUT', error, cause }` or
 * `{ status: 'ABORTED' }`. `onStart` receives the execution (for `abort()`). `definition`,
 * `overrides` and `waitStates` are those of prepareRun.
 */
export async function execute({ definition, input, context, overrides, waitStates = new Set(), progress, onStart }) {
  // The caller has validated with asl-validator 4 (the interpreter bundles an older 3.x):
  // validating twice would only cost time.
  const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
  const execution = machine.run(input, { overrides, context });
  onStart?.(execution);
  const consuming = progress ? progress.consume(asWaits(execution.eventLogs, waitStates)) : Promise.resolve();
  try {
    return { status: 'SUCCEEDED', output: await execution.result };
  } catch (error) {
    if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
    if (error instanceof ExecutionTimeoutError) {
      return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'the execution exceeded its TimeoutSeconds' };
    }
    if (error instanceof ExecutionError) {
      // Not the state machine's failure but the test case's: it needs a state it does not mock.
      if (error.cause instanceof UnrunnableStateError) throw new SetupError(error.cause.message);
      // The library keeps the state's error as `cause`: its name is the error, its message the cause.
      return { status: 'FAILED', error: error.cause?.name, cause: error.cause?.message };
    }
    throw error;
  } finally {
    // The event log closes with the execution's last event.
    await consuming;
  }
}
