// Turns aws-local-stepfunctions event logs into progress lines and JSON-lines records.
import fs from 'node:fs';

const causeText = (cause) => (cause === undefined || typeof cause === 'string' ? cause : JSON.stringify(cause));

/** The function's errorMessage when the cause is a Lambda error payload, on one short line. */
export function shortCause(cause, max = 160) {
  let text = causeText(cause) ?? '';
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed?.errorMessage === 'string') text = parsed.errorMessage;
  } catch {
    // not JSON: keep the text
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Consumes events of one execution. `write(line)` receives progress lines; `eventsFile`, when
 * given, receives every event as one JSON object per line.
 *
 * `child(name)` gives the view a nested execution (a states:startExecution.sync Task's child,
 * run by this runner) writes through: the same lines and file, its state names prefixed with
 * `name/` and its records marked `"nested": name`, times counted from the root execution's start.
 */
export class Progress {
  constructor({ write = (line) => process.stderr.write(line + '\n'), eventsFile, root = null, prefix = '' } = {}) {
    this.write = write;
    this.root = root ?? this;
    this.prefix = prefix;
    this.fd = root === null && eventsFile ? fs.openSync(eventsFile, 'w') : null;
    this.startedAt = null;
    this.entered = new Map(); // state key -> entry timestamp
    this.failures = new Map(); // state key -> last StateFailed, until retried, caught or failed
    this.caught = new Set(); // state keys whose last failure was caught
  }

  child(name) {
    return new Progress({ write: this.write, root: this.root, prefix: `${this.prefix}${name}/` });
  }

  async consume(eventLogs) {
    for await (const event of eventLogs) this.handle(event);
  }

  handle(event) {
    this.root.startedAt ??= event.timestamp;
    const record = {
      type: event.type,
      timestamp: new Date(event.timestamp).toISOString(),
      elapsedMs: event.timestamp - this.root.startedAt,
    };
    if (this.prefix) record.nested = this.prefix.slice(0, -1);
    const state = event.state;
    if (state) Object.assign(record, { state: this.prefix + state.name, stateType: state.type });
    if (event.parentState) record.state = this.prefix + event.parentState.name; // Map iteration, Parallel branch
    if (event.index !== undefined) record.index = event.index;
    const key = state ? `${state.name}#${event.index ?? ''}` : null;
    const label = state ? `${this.prefix}${state.name}${event.index !== undefined ? ` [${event.index}]` : ''}` : '';

    switch (event.type) {
      case 'ExecutionStarted':
        record.input = event.input;
        break;
      case 'ExecutionSucceeded':
        record.output = event.output;
        break;
      case 'StateEntered':
        record.input = state.input;
        this.entered.set(key, event.timestamp);
        this.write(`▶ ${label}`);
        break;
      case 'StateExited': {
        const durationMs = event.timestamp - (this.entered.get(key) ?? event.timestamp);
        Object.assign(record, { input: state.input, output: state.output, durationMs });
        // A state left through a Catch failed: its exit must not read as a success.
        const mark = this.caught.delete(key) ? '✗' : '✓';
        this.write(`${mark} ${label} (${(durationMs / 1000).toFixed(2)} s)`);
        break;
      }
      case 'StateFailed':
        Object.assign(record, { error: event.Error, cause: causeText(event.Cause), input: state.input });
        // Whether it is retried, caught or fails the execution is only known from what follows.
        this.failures.set(key, { label, error: event.Error, cause: event.Cause });
        break;
      case 'StateRetried': {
        const failure = this.failures.get(key);
        this.failures.delete(key);
        Object.assign(record, {
          attempt: event.retry.attempt,
          errorEquals: event.retry.retrier.ErrorEquals,
          error: failure?.error,
          cause: causeText(failure?.cause),
        });
        this.write(`↻ ${label} retry ${event.retry.attempt} after ${failure?.error}: ${shortCause(failure?.cause)}`);
        break;
      }
      case 'StateCaught': {
        const failure = this.failures.get(key);
        this.failures.delete(key);
        const { catcher } = event.catch;
        Object.assign(record, {
          errorEquals: catcher.ErrorEquals,
          next: catcher.Next,
          error: failure?.error,
          cause: causeText(failure?.cause),
        });
        this.caught.add(key);
        this.write(`⤷ caught ${failure?.error} in ${label} -> ${catcher.Next}`);
        break;
      }
      case 'ExecutionFailed':
      case 'MapIterationFailed':
      case 'ParallelBranchFailed':
        Object.assign(record, { error: event.Error, cause: causeText(event.Cause) });
        this.#flushFailures(event.type === 'ExecutionFailed' ? null : event.Error);
        break;
      default:
        break;
    }
    if (this.root.fd !== null) fs.writeSync(this.root.fd, JSON.stringify(record) + '\n');
  }

  /** Reports the failures that were neither retried nor caught (those with `error`, or all). */
  #flushFailures(error) {
    for (const [key, failure] of this.failures) {
      if (error !== null && failure.error !== error) continue;
      this.failures.delete(key);
      this.write(`✗ ${failure.label} failed: ${failure.error}`);
    }
  }

  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
