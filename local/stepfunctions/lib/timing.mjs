// How long Wait states and Retry pauses take in a local run:
//   - real: the definition's own times;
//   - flat (the default): every Wait and every Retry pause takes the same few milliseconds.
//     Retry counts and MaxAttempts stay, the time budget does not;
//   - scaled (--time-scale F): every Wait and every Retry pause is F times the definition's,
//     so a wait's time budget keeps AWS's proportions to what it waits for.
//
// How aws-local-stepfunctions 3 applies `retryIntervalOverrides` (StateExecutor.shouldRetry):
// an override (ms, per state or per retrier) *replaces the whole pause*: it is used for every
// attempt (no BackoffRate growth) and without JitterStrategy FULL; only the MaxDelaySeconds cap
// still applies. So an override can express a flat pause, not a scaled backoff. Scaling therefore
// hands the interpreter a copy of the definition whose retriers have IntervalSeconds and
// MaxDelaySeconds multiplied by F, and lets the interpreter do the rest as for AWS times: pause
// n is min(IntervalSeconds*F * BackoffRate^(n-1), MaxDelaySeconds*F), drawn uniformly from 0 to
// that with FULL jitter; that is F times AWS's pause, attempt by attempt.
//
// `waitTimeOverrides` (ms per Wait state) are static: they express a scaled `Seconds`, but not a
// time known only at run time (`SecondsPath`, `TimestampPath`, or a `Timestamp`, whose time
// depends on when it is reached), and the interpreter has no hook that sees the Wait's input.
// In the copy such a Wait becomes a Task of the same name whose local handler waits F times the
// Wait's time and returns its input unchanged (see waitStandIn); the runner reports its events
// as the Wait's (execute in runner.mjs).
import { UncatchableError } from './mock-config.mjs';

// The longest setTimeout delay; a longer one fires at once.
const MAX_TIMER_MS = 2 ** 31 - 1;
// The interpreter gives every Task a timeout (60 s without TimeoutSeconds): a Wait has none.
const STAND_IN_TIMEOUT_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
// Never called: the stand-in's local handler answers it.
const STAND_IN_RESOURCE = 'arn:aws:states:::local:scaled-wait';
// AWS's default IntervalSeconds: written out in the copy so that it is scaled too.
const DEFAULT_INTERVAL_SECONDS = 1;
const WAIT_TIME_FIELDS = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'];

/**
 * What the interpreter runs for the chosen timing: `definition` (the given one, or the scaled
 * copy), the `waitTimeOverrides` and `retryIntervalOverrides` to run it with, the local handlers
 * of the Wait stand-ins (`taskResourceLocalHandlers`) and their names (`waitStates`).
 *
 * `timeScale` (a positive number) scales; otherwise `realWaits` keeps the definition's times,
 * and the default makes every Wait take `waitMs` and every Retry pause `retryIntervalMs`.
 */
export function planTiming(definition, { timeScale = null, realWaits = false, waitMs = 10, retryIntervalMs = 10 } = {}) {
  if (timeScale !== null) return scaledTiming(definition, timeScale);
  const plan = { definition, waitTimeOverrides: {}, retryIntervalOverrides: {}, taskResourceLocalHandlers: {}, waitStates: new Set() };
  if (realWaits) return plan;
  for (const [name, state] of statesOf(definition)) {
    if (state.Type === 'Wait') plan.waitTimeOverrides[name] = waitMs;
    if (Array.isArray(state.Retry) && state.Retry.length > 0) plan.retryIntervalOverrides[name] = retryIntervalMs;
  }
  return plan;
}

/** The scaled plan: see the top of this file. The given definition is left as it is. */
function scaledTiming(definition, factor) {
  const plan = {
    definition: structuredClone(definition),
    waitTimeOverrides: {},
    retryIntervalOverrides: {},
    taskResourceLocalHandlers: {},
    waitStates: new Set(),
  };
  for (const [name, state, states] of statesOf(plan.definition)) {
    if (Array.isArray(state.Retry)) state.Retry = state.Retry.map((retrier) => scaledRetrier(retrier, factor));
    if (state.Type !== 'Wait') continue;
    if (typeof state.Seconds === 'number') {
      plan.waitTimeOverrides[name] = state.Seconds * 1000 * factor;
    } else {
      states[name] = waitStandIn(state);
      plan.taskResourceLocalHandlers[name] = scaledWait(state, factor);
      plan.waitStates.add(name);
    }
  }
  return plan;
}

/** A retrier whose pauses are `factor` times the given one's (BackoffRate and MaxAttempts stay). */
function scaledRetrier(retrier, factor) {
  const scaled = { ...retrier, IntervalSeconds: (retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * factor };
  if (typeof retrier.MaxDelaySeconds === 'number') scaled.MaxDelaySeconds = retrier.MaxDelaySeconds * factor;
  return scaled;
}

/**
 * The Task that stands in for a Wait whose time is known only when it is reached. It gives its
 * handler what the Wait would read, from the same effective input (after InputPath), resolved by
 * the interpreter as the Wait would (a path that points nowhere fails it with States.Runtime), and
 * the handler returns that input: the state's output is the Wait's (OutputPath still applies).
 */
function waitStandIn(state) {
  const kept = Object.fromEntries(Object.entries(state).filter(([field]) => field !== 'Type' && !WAIT_TIME_FIELDS.includes(field)));
  const Parameters = { 'input.$': '$' };
  if (state.SecondsPath !== undefined) Parameters['seconds.$'] = state.SecondsPath;
  if (state.TimestampPath !== undefined) Parameters['timestamp.$'] = state.TimestampPath;
  if (state.Timestamp !== undefined) Parameters.timestamp = state.Timestamp;
  return { ...kept, Type: 'Task', Resource: STAND_IN_RESOURCE, Parameters, TimeoutSeconds: STAND_IN_TIMEOUT_SECONDS };
}

/** The stand-in's handler: waits `factor` times the Wait's time, then passes its input on. */
function scaledWait(state, factor) {
  return async ({ input, seconds, timestamp }) => {
    const ms = state.SecondsPath !== undefined ? secondsAt(state.SecondsPath, seconds) * 1000 : msUntil(state.TimestampPath ?? 'Timestamp', timestamp);
    await sleep(ms * factor);
    return input;
  };
}

// The checks the interpreter makes of a Wait's path values, with its messages.
function secondsAt(path, value) {
  const expected = !Number.isInteger(value) ? 'an integer' : value < 0 ? 'an integer >= 0' : null;
  if (expected) {
    throw new UncatchableError('States.Runtime', `Path expression '${path}' evaluated to ${JSON.stringify(value)}, but expected ${expected}`);
  }
  return value;
}

function msUntil(path, timestamp) {
  const at = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(at)) {
    throw new UncatchableError(
      'States.Runtime',
      `Path expression '${path}' evaluated to ${JSON.stringify(timestamp)}, but expected a timestamp conforming to the RFC3339 profile`,
    );
  }
  return Math.max(0, at - Date.now());
}

/** Resolves after `ms`, however long (setTimeout alone cuts long delays short). */
async function sleep(ms) {
  for (let left = ms; left > 0; left -= MAX_TIMER_MS) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, MAX_TIMER_MS)));
  }
}

/** Every state of a machine, nested ones too, as [name, state, the States object holding it] (allStates, plus the holder). */
function* statesOf(machine) {
  const states = machine?.States ?? {};
  for (const [name, state] of Object.entries(states)) {
    yield [name, state, states];
    for (const branch of state.Branches ?? []) yield* statesOf(branch);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) yield* statesOf(processor);
  }
}
