// arn:aws:states:::states:startExecution.sync and .sync:2 ("Run a Job"): the parent's Task starts
// the child execution and waits for it to end. Here the child is run by this runner, in the same
// process, from the definition --state-machine maps its state machine's name to (session.mjs);
// this module turns the Task's parameters into the child's request, and the child's end into what
// the Task returns or fails with.
//
// References:
// - "Start a new AWS Step Functions state machine from a running execution" (Step Functions
//   Developer Guide, connect-stepfunctions): .sync waits for the child, .sync:2 returns its Output
//   as JSON rather than as escaped JSON text; API_StartExecution: the name rules, and "If you don't
//   provide a name for the execution, Step Functions automatically generates a universally unique
//   identifier (UUID) as the execution name"; input "must be valid JSON text" (else
//   InvalidExecutionInput).
// - What the Task returns and fails with, as AWS did (execution histories recorded on AWS in
//   localstack's tests/aws/services/stepfunctions/v2/callback/test_callback.snapshot.json,
//   test_start_execution_sync, test_start_execution_sync2, test_start_execution_sync_delegate_failure):
//   the child's DescribeExecution answer with PascalCase members in alphabetical order (ExecutionArn,
//   Input, InputDetails {Included}, Name, Output, OutputDetails {Included}, StartDate, StateMachineArn,
//   Status, StopDate; dates in epoch milliseconds), Input and Output as JSON text for .sync and as
//   JSON values for .sync:2. A child that FAILED fails the Task with States.TaskFailed, the cause
//   being that answer as JSON text (with the child's Cause and Error, without Output).
// - RedriveCount, RedriveStatus and RedriveStatusReason, which DescribeExecution has answered since
//   redrive was launched (November 2023) and the recordings above predate: in the answer as an
//   emulator that measured it on AWS shows them (floci's AslExecutorNestedStartExecutionTest).
// - Not documented, nor in any recording found: what .sync raises for a child that TIMED_OUT or was
//   ABORTED. localstack (state_task_service_sfn.py, _sync_to_start_machine) raises States.TaskFailed
//   with the describe answer for every status but SUCCEEDED; so does this runner. Whether a .sync:2
//   cause holds Input parsed (as here, localstack's way) is not recorded either.
import { randomUUID } from 'node:crypto';

import { stateMachineNameOf } from './definition.mjs';
import { InvocationError } from './runtime-api.mjs';
import { stepFunctionsErrorName } from './start-execution.mjs';
import { redrive } from './status-event.mjs';

// API_StartExecution's name rules: 1-80 characters, none of these.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

const failure = (code, message) => new InvocationError(stepFunctionsErrorName(code), message);

/**
 * The child execution a .sync Task's resolved Parameters ask for: `{ machine, stateMachineArn,
 * name, inputText, input }` (`machine` is the state machine's name in its ARN, `inputText` the
 * input as StartExecution takes it). Throws the InvocationError Step Functions fails the state
 * with for a bad parameter.
 */
export function childRequest(params) {
  const { StateMachineArn: arn, Name: given, Input: rawInput } = params ?? {};
  const machine = stateMachineNameOf(arn);
  if (!machine) throw failure('InvalidArn', `Invalid Arn: '${arn ?? null}' (a state machine ARN is required as StateMachineArn)`);
  const name = given ?? randomUUID();
  if (typeof name !== 'string' || name.length === 0 || name.length > 80 || INVALID_NAME.test(name)) {
    throw failure('InvalidName', `Invalid Name: '${typeof name === 'string' ? name : JSON.stringify(name)}'`);
  }
  // As for states:startExecution: a JSON value is sent as its JSON text, a string as it is.
  const inputText = rawInput === undefined || rawInput === null ? '{}' : typeof rawInput === 'string' ? rawInput : JSON.stringify(rawInput);
  let input;
  try {
    input = JSON.parse(inputText);
  } catch (error) {
    throw failure('InvalidExecutionInput', `Invalid State Machine Execution Input: '${error.message}'`);
  }
  return { machine, stateMachineArn: arn, name, inputText, input };
}

/**
 * The child's DescribeExecution answer as the Task gets it: `run` is what Session.run settles
 * with; `sync2` parses Input and Output.
 */
export function describeAnswer(run, { sync2 }) {
  const { outcome } = run;
  const json = (text, value) => (sync2 ? value : text);
  const answer = {};
  if (outcome.status === 'FAILED') {
    answer.Cause = outcome.cause ?? null;
    answer.Error = outcome.error ?? null;
  }
  Object.assign(answer, {
    ExecutionArn: run.executionArn,
    Input: json(run.inputText, run.input),
    InputDetails: { Included: true },
    Name: run.name,
  });
  if (outcome.status === 'SUCCEEDED') {
    Object.assign(answer, { Output: json(JSON.stringify(outcome.output), outcome.output), OutputDetails: { Included: true } });
  }
  const { redriveStatus, redriveStatusReason } = redrive(outcome.status);
  answer.RedriveCount = 0;
  answer.RedriveStatus = redriveStatus;
  if (redriveStatusReason) answer.RedriveStatusReason = redriveStatusReason;
  return Object.assign(answer, {
    StartDate: run.startDate,
    StateMachineArn: run.stateMachineArn,
    Status: outcome.status,
    StopDate: run.stopDate,
  });
}

/** What the Task returns for the child's `run`, or the States.TaskFailed it fails with. */
export function taskResult(run, { sync2 }) {
  const answer = describeAnswer(run, { sync2 });
  if (run.outcome.status === 'SUCCEEDED') return answer;
  throw new InvocationError('States.TaskFailed', JSON.stringify(answer));
}
