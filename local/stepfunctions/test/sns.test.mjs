// The sns:publish integration against the local emulator (moto's SNS and SQS): what a Task
// publishes reaches a subscribed queue, and SNS errors reach Retry/Catch by Step Functions' names.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { awsQuery, fixture, readEvents, runCli, sandbox, startEmulator, xmlElements } from './helpers.mjs';

// Not us-east-1: the request must be made in the topic's region, which only its ARN gives.
const REGION = 'us-west-2';

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());

const sns = (action, params) =>
  awsQuery(emulator.url, { region: REGION, service: 'sns', version: '2010-03-31', action, params });
const sqs = (action, params) =>
  awsQuery(emulator.url, { region: REGION, service: 'sqs', version: '2012-11-05', action, params });

/** A topic with a queue subscribed to it; `receive()` reads the queued notifications (SNS envelopes). */
async function topicWithQueue(name) {
  const [queueUrl] = xmlElements(await sqs('CreateQueue', { QueueName: `${name}-queue` }), 'QueueUrl');
  const attributes = await sqs('GetQueueAttributes', { QueueUrl: queueUrl, 'AttributeName.1': 'QueueArn' });
  const [queueArn] = xmlElements(attributes, 'Value');
  const [topicArn] = xmlElements(await sns('CreateTopic', { Name: name }), 'TopicArn');
  // Not raw delivery: the envelope keeps the Subject.
  await sns('Subscribe', { TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn });
  return {
    topicArn,
    async receive() {
      const received = await sqs('ReceiveMessage', { QueueUrl: queueUrl, MaxNumberOfMessages: '10', WaitTimeSeconds: '0' });
      return xmlElements(received, 'Body').map((body) => JSON.parse(body));
    },
  };
}

const run = (box, input, ...more) =>
  runCli(['--definition', fixture('sns-publish.asl.json'), '--binary', box.binary, '--input', input, '--endpoint', emulator.url, ...more]);

test('sns:publish publishes the resolved Message and Subject and returns the MessageId', async (t) => {
  const box = await sandbox(t, []);
  const { topicArn, receive } = await topicWithQueue('refresh-done');
  const input = await box.json('input.json', { topic: topicArn, target: 'db-copy' });
  const { code, stdout, stderr } = await run(box, input);
  assert.equal(code, 0, stderr);
  const output = JSON.parse(stdout);
  assert.match(output.published.MessageId, /^[0-9a-f-]{36}$/);
  assert.equal(output.published.SdkHttpMetadata.HttpStatusCode, 200);
  assert.equal(output.published.SdkHttpMetadata.HttpHeaders['Content-Type'], 'text/xml');
  assert.equal(output.published.SdkResponseMetadata.RequestId, output.published.SdkHttpMetadata.HttpHeaders['x-amzn-RequestId']);
  assert.match(stderr, /^✓ Notify \(\d+\.\d\d s\)$/m);

  const [first, second] = await receive();
  assert.equal(first.MessageId, output.published.MessageId);
  assert.equal(first.TopicArn, topicArn);
  assert.equal(first.Message, 'refresh of db-copy done');
  assert.equal(first.Subject, 'rds-refresh');
  assert.deepEqual(first.MessageAttributes, { target: { Type: 'String', Value: 'db-copy' } });
  // A JSON Message is sent as its JSON text, as Step Functions does.
  assert.equal(second.MessageId, output.details.MessageId);
  assert.equal(second.Message, '{"target":"db-copy","steps":["restore","rename"]}');
  assert.equal(second.Subject, undefined);
});

test('a missing topic fails the state with SNS.NotFoundException, which Catch matches', async (t) => {
  const box = await sandbox(t, []);
  const topicArn = `arn:aws:sns:${REGION}:123456789012:no-such-topic`;
  const input = await box.json('input.json', { topic: topicArn, target: 'db-copy' });
  const events = path.join(box.dir, 'events.jsonl');
  const { code, stdout, stderr } = await run(box, input, '--events', events);
  assert.equal(code, 0, stderr);
  const output = JSON.parse(stdout);
  assert.equal(output.handled, 'no topic');
  assert.equal(output.error.Error, 'SNS.NotFoundException');
  assert.match(output.error.Cause, /does not exist/);
  assert.match(stderr, /^⤷ caught SNS.NotFoundException in Notify -> NoTopic$/m);
  const failed = (await readEvents(events)).find((e) => e.type === 'StateFailed');
  assert.deepEqual([failed.state, failed.error, failed.cause], ['Notify', 'SNS.NotFoundException', output.error.Cause]);

  // Uncaught, it fails the execution.
  const definition = await box.json('uncaught.asl.json', {
    StartAt: 'Notify',
    States: { Notify: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: topicArn, Message: 'hi' }, End: true } },
  });
  const uncaught = await runCli(['--definition', definition, '--binary', box.binary, '--endpoint', emulator.url]);
  assert.equal(uncaught.code, 1);
  assert.match(uncaught.stderr, /^error: SNS.NotFoundException: .*does not exist$/m);
});

test('parameters SNS refuses fail as SNS.InvalidParameterException; an unreachable endpoint as SNS.SdkClientException', async (t) => {
  const box = await sandbox(t, []);
  const { topicArn } = await topicWithQueue('refresh-invalid');
  const publishing = (parameters) =>
    box.json('publish.asl.json', {
      StartAt: 'Notify',
      States: {
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sns:publish',
          Parameters: parameters,
          Retry: [{ ErrorEquals: ['SNS.InvalidParameterException'], MaxAttempts: 1 }],
          End: true,
        },
      },
    });

  // moto's own check, answered as an SNS error document.
  let definition = await publishing({ TopicArn: topicArn, Message: 'hi', MessageAttributes: { n: { DataType: 'Number', StringValue: 'x' } } });
  let result = await runCli(['--definition', definition, '--binary', box.binary, '--endpoint', emulator.url]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^↻ Notify retry 1 after SNS.InvalidParameterException: /m);
  assert.match(result.stderr, /^error: SNS.InvalidParameterException: .*Could not cast message attribute 'n' value to number/m);

  // No Message: checked before the call (moto answers it with a bare HTTP 500).
  definition = await publishing({ TopicArn: topicArn });
  result = await runCli(['--definition', definition, '--binary', box.binary, '--endpoint', emulator.url]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: SNS.InvalidParameterException: Invalid parameter: Message/m);

  definition = await publishing({ TopicArn: topicArn, Message: 'hi' });
  result = await runCli(['--definition', definition, '--binary', box.binary, '--endpoint', 'http://127.0.0.1:9']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: SNS.SdkClientException: Unable to execute HTTP request: /m);
});

test('sns:publish without --endpoint, or with a parameter not emulated, is a setup error', async (t) => {
  const box = await sandbox(t, []);
  const publishing = (parameters) =>
    box.json('publish.asl.json', {
      StartAt: 'Notify',
      States: { Notify: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: parameters, End: true } },
    });
  let definition = await publishing({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'hi' });
  let result = await runCli(['--definition', definition, '--binary', box.binary]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /state Notify: Resource "arn:aws:states:::sns:publish" cannot run locally without --endpoint/);

  definition = await publishing({ TargetArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'hi' });
  result = await runCli(['--definition', definition, '--binary', box.binary, '--endpoint', emulator.url]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /state Notify: sns:publish parameter\(s\) TargetArn cannot run locally/);

  // A definition without sns:publish needs no endpoint.
  const pass = await box.json('pass.asl.json', { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });
  result = await runCli(['--definition', pass, '--binary', box.binary]);
  assert.equal(result.code, 0, result.stderr);
});
