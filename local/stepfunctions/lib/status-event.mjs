// --status-change-event: the EventBridge event Step Functions sends when a STANDARD execution's
// status changes, for the end of a local run, so that what AWS starts from it (here: the repair
// state machine, started by a rule on ABORTED, TIMED_OUT and FAILED) can be run with it as input.
//
// References:
// - "EventBridge (CloudWatch Events) for Step Functions execution status changes" (Step Functions
//   Developer Guide, cw-events) and "Automating Step Functions event delivery with EventBridge"
//   (eventbridge-integration): detail-type "Step Functions Execution Status Change", source
//   aws.states, resources [the execution ARN]; "the detail section in the event data provides the
//   same information as the DescribeExecution API"; input and output as JSON text, inputDetails
//   and outputDetails {"included": ...}; startDate and stopDate in epoch milliseconds; `time`
//   without fractions ("2019-02-26T19:42:21Z"). Only STANDARD workflows emit them.
// - The members and their order as AWS sent them on 2024-02-07 (localstack's test_base.snapshot.json,
//   test_event_bridge_events_base, validated on AWS): executionArn, stateMachineArn, name, status,
//   startDate, stopDate, input, output, stateMachineVersionArn, stateMachineAliasArn, redriveCount,
//   redriveDate, redriveStatus, redriveStatusReason, inputDetails, outputDetails, error, cause.
// - API_DescribeExecution: error and cause are set for a failed execution; a timed-out one has
//   neither (AWS's answer recorded in localstack's test_timeouts.snapshot.json,
//   test_global_timeout: status TIMED_OUT, redriveStatus REDRIVABLE, no error, no cause); FAILED,
//   ABORTED and TIMED_OUT executions can be redriven (redriveStatus REDRIVABLE, no
//   redriveStatusReason), a SUCCEEDED one cannot ("Execution is SUCCEEDED and cannot be redriven").
import { randomUUID } from 'node:crypto';

export const DETAIL_TYPE = 'Step Functions Execution Status Change';

/** The statuses whose event a repair rule matches: an execution that ended and did not succeed. */
export const UNSUCCESSFUL = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

/** What AWS says about redriving an execution that ended with `status`. */
export function redrive(status) {
  if (UNSUCCESSFUL.has(status)) return { redriveStatus: 'REDRIVABLE', redriveStatusReason: null };
  return { redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: `Execution is ${status} and cannot be redriven` };
}

/** `2026-01-01T00:00:00Z`: EventBridge's `time`, to the second. */
const eventTime = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The event for an execution that ended. `run` is what Session.run settles with: `executionArn`,
 * `stateMachineArn`, `name`, `startDate` and `stopDate` (epoch ms), `inputText` (the input as
 * sent to StartExecution) and `outcome` (`status`, `output`, `error`, `cause`).
 */
export function statusChangeEvent(run) {
  const { outcome } = run;
  const [, , , region, account] = run.executionArn.split(':');
  const succeeded = outcome.status === 'SUCCEEDED';
  const failed = outcome.status === 'FAILED';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': DETAIL_TYPE,
    source: 'aws.states',
    account,
    time: eventTime(run.stopDate),
    region,
    resources: [run.executionArn],
    detail: {
      executionArn: run.executionArn,
      stateMachineArn: run.stateMachineArn,
      name: run.name,
      status: outcome.status,
      startDate: run.startDate,
      stopDate: run.stopDate,
      input: run.inputText,
      output: succeeded ? JSON.stringify(outcome.output) : null,
      stateMachineVersionArn: null,
      stateMachineAliasArn: null,
      redriveCount: 0,
      redriveDate: null,
      ...redrive(outcome.status),
      inputDetails: { included: true },
      outputDetails: succeeded ? { included: true } : null,
      error: failed ? (outcome.error ?? null) : null,
      cause: failed ? (outcome.cause ?? null) : null,
    },
  };
}
