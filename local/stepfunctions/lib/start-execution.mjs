// The Step Functions integration arn:aws:states:::states:startExecution (request-response), which
// the interpreter lacks: a StartExecution call (the JSON protocol of the Step Functions API) to the
// run's --endpoint, its answer shaped like the one Step Functions gives, its errors named like
// Step Functions names them.
//
// References:
// - API_StartExecution (Step Functions API Reference): the parameters, the name rules, and the
//   idempotency for STANDARD workflows (same name and input as a running execution: its answer
//   again; a closed one, or other input: 400 ExecutionAlreadyExists).
// - "Start a new AWS Step Functions state machine from a running execution" (connect-stepfunctions)
//   and "IAM policies for AWS Step Functions" (stepfunctions-iam): the request-response pattern
//   needs only states:StartExecution.
// - The answer's shape (ExecutionArn, StartDate, SdkHttpMetadata, SdkResponseMetadata): an
//   execution history recorded on AWS in localstack's tests
//   (tests/aws/services/stepfunctions/v2/services/test_sfn_task_service.snapshot.json).
// - The error names: Step Functions reports the Java SDK's exception class under the prefix
//   `StepFunctions.`, e.g. `StepFunctions.ExecutionAlreadyExistsException` with the cause
//   "Execution Already Exists: '<arn>' (Service: AWSStepFunctions; Status Code: 400; Error Code:
//   ExecutionAlreadyExists; Request ID: ...; Proxy: null)" (an execution history shown in
//   DevelopersIO's "Step Functions で ExecutionAlreadyExistsException が発生するときの対処方法",
//   2022-06-15).
import { REGION } from './definition.mjs';
import { InvocationError } from './runtime-api.mjs';
import { callService, httpMetadata } from './sns.mjs';

const TARGET = 'AWSStepFunctions.StartExecution';

// The response headers AWS reports under SdkHttpMetadata for this integration (localstack's recording).
const REPORTED_HEADERS = {
  connection: 'connection',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  date: 'Date',
  'x-amzn-requestid': 'x-amzn-RequestId',
};

/** The API's error code as a Step Functions error name: ExecutionAlreadyExists -> StepFunctions.ExecutionAlreadyExistsException. */
export const stepFunctionsErrorName = (code) => `StepFunctions.${code.endsWith('Exception') ? code : `${code}Exception`}`;

/** The region of a state machine ARN; moto keeps state machines per region, so the request must name that one. */
const regionOf = (arn) => /^arn:aws[\w-]*:states:([\w-]+):/.exec(arn)?.[1] ?? REGION;

/**
 * The StartExecution request body for the state's resolved Parameters. `Input` may be given as a
 * JSON value (sent as its JSON text, as Step Functions does) or as a string (sent as it is).
 */
function requestBody(params) {
  const { StateMachineArn: arn, Name: name, Input: input, TraceHeader: traceHeader } = params ?? {};
  if (typeof arn !== 'string' || arn === '') {
    throw new InvocationError(stepFunctionsErrorName('InvalidArn'), `Invalid Arn: StateMachineArn ${JSON.stringify(arn ?? null)} (a state machine ARN string is required)`);
  }
  const body = { stateMachineArn: arn };
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') throw new InvocationError(stepFunctionsErrorName('InvalidName'), `Invalid Name: ${JSON.stringify(name)} (a string is required)`);
    body.name = name;
  }
  if (input !== undefined && input !== null) body.input = typeof input === 'string' ? input : JSON.stringify(input);
  if (traceHeader !== undefined && traceHeader !== null) body.traceHeader = String(traceHeader);
  return { body, region: regionOf(arn) };
}

/** The cause Step Functions gives a service error: the message, then the Java SDK's details. */
function causeOf(message, status, code, requestId) {
  return `${message} (Service: AWSStepFunctions; Status Code: ${status}; Error Code: ${code}; Request ID: ${requestId ?? 'null'}; Proxy: null)`;
}

/**
 * Starts an execution with the state's resolved Parameters through the Step Functions API at
 * `endpoint`. Resolves with what Step Functions returns (`ExecutionArn`, `StartDate`,
 * `SdkHttpMetadata`, `SdkResponseMetadata`); rejects with an InvocationError named like Step
 * Functions' (StepFunctions.ExecutionAlreadyExistsException, ...).
 */
export async function startExecution(endpoint, params, { timeoutMs } = {}) {
  const { body, region } = requestBody(params);
  const { url, response, text } = await callService(endpoint, {
    service: 'states',
    region,
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': TARGET },
    body: JSON.stringify(body),
    timeoutMs,
    errorPrefix: 'StepFunctions',
  });

  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // Not JSON: handled below.
  }
  const requestId = response.headers.get('x-amzn-requestid');
  if (!response.ok) {
    // The JSON protocol's error document: {"__type": "[namespace#]Code", "message": ...}.
    const code = (answer?.__type ?? response.headers.get('x-amzn-errortype') ?? '').split('#').pop().split(':')[0];
    if (code) {
      throw new InvocationError(stepFunctionsErrorName(code), causeOf(answer?.message ?? answer?.Message ?? '', response.status, code, requestId));
    }
    // Not a Step Functions error document (a proxy, a bare 500): the SDK's generic service error.
    const shown = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new InvocationError('StepFunctions.AWSStepFunctionsException', `HTTP ${response.status} from ${url}: ${shown}`);
  }
  if (typeof answer?.executionArn !== 'string') {
    throw new InvocationError('StepFunctions.AWSStepFunctionsException', `no executionArn in the StartExecution response from ${url}: ${text.slice(0, 300)}`);
  }
  return {
    ExecutionArn: answer.executionArn,
    // The API answers in epoch seconds; Step Functions reports the Java SDK's Date, in epoch
    // milliseconds (its exact form in the integration's output is not documented).
    StartDate: typeof answer.startDate === 'number' ? Math.round(answer.startDate * 1000) : answer.startDate,
    SdkHttpMetadata: httpMetadata(response, REPORTED_HEADERS),
    SdkResponseMetadata: { RequestId: requestId },
  };
}
