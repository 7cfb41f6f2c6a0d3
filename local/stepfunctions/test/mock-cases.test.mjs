// The mock test cases of the real state machine (statemachine/refresh.mock.json, with the inputs
// and expectations of statemachine/refresh.mock-cases.json): each runs on the real definition
// through run.mjs, with no AWS and no binaries. The mocked answers are checked against the tasks'
// contracts (schemas/, the TaskError names), so they cannot drift from what the tasks do.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import Ajv2020 from 'ajv/dist/2020.js';

import { outcomeMismatches, loadCases } from '../lib/cases.mjs';
import { allStates, functionNameOf, LAMBDA_INVOKE, loadDefinition, SNS_PUBLISH } from '../lib/definition.mjs';
import { loadMockConfig, selectTestCase } from '../lib/mock-config.mjs';
import { readEvents, root, runCli, sandbox } from './helpers.mjs';

const repo = path.resolve(root, '..', '..');
const DEFINITION = path.join(repo, 'statemachine', 'refresh.asl.json');
const FUNCTIONS = path.join(repo, 'statemachine', 'functions.json');
const MOCK_CONFIG = path.join(repo, 'statemachine', 'refresh.mock.json');
const CASES = path.join(repo, 'statemachine', 'refresh.mock-cases.json');
const SCHEMAS = path.join(repo, 'schemas');

const { definition } = loadDefinition(DEFINITION, FUNCTIONS);
const states = new Map(allStates(definition));
const mockConfig = loadMockConfig(MOCK_CONFIG);
const { stateMachine, cases } = loadCases(CASES);
const testCases = mockConfig.machines[stateMachine] ?? {};

/** Every (test case, state, mocked response) of the state machine's test cases. */
const mockedStates = Object.entries(testCases).flatMap(([testCase, mocked]) =>
  Object.entries(mocked).map(([state, response]) => ({ testCase, state, response: mockConfig.responses.get(response) })),
);

/** The task binary behind a lambda:invoke state (`check-input`), from its FunctionName. */
const functionOf = (state) => functionNameOf(states.get(state)?.Parameters?.FunctionName);

/** Every mocked answer as [label, state, answer], once per (mocked response, state's kind of task). */
function answers(kind) {
  const seen = new Set();
  const found = [];
  for (const { testCase, state, response } of mockedStates) {
    const resource = states.get(state)?.Resource;
    const task = resource === LAMBDA_INVOKE ? functionOf(state) : resource;
    if (seen.has(`${response.name}|${task}`)) continue;
    seen.add(`${response.name}|${task}`);
    for (const { from, to, response: answer } of response.ranges) {
      if (!(kind in answer)) continue;
      const label = `MockedResponses.${response.name}.${from === to ? from : `${from}-${to}`} (state ${state} of test case ${testCase})`;
      found.push([label, state, answer[kind]]);
    }
  }
  return found;
}

test(`the mock config names state machine ${stateMachine}, and its test cases are the cases file's`, () => {
  assert.ok(Object.hasOwn(mockConfig.machines, stateMachine), `${MOCK_CONFIG} has no state machine ${stateMachine}`);
  assert.deepEqual(Object.keys(testCases).sort(), Object.keys(cases).sort());
  // Every test case fits the real definition (each mocked state is one of its Task states).
  for (const testCase of Object.keys(testCases)) {
    selectTestCase(mockConfig, definition, { file: MOCK_CONFIG, machine: stateMachine, testCase });
  }
});

/** Runs one case through run.mjs; its outcome comes from the events file, as AWS would report it. */
async function runCase(t, name, input) {
  const box = await sandbox(t, []);
  const inputFile = await box.json('input.json', input);
  const eventsFile = path.join(box.dir, 'events.jsonl');
  const args = ['--definition', DEFINITION, '--functions', FUNCTIONS, '--mock-config', MOCK_CONFIG, '--test-case', name];
  const run = await runCli([...args, '--input', inputFile, '--events', eventsFile, '--wait-ms', '0', '--retry-interval-ms', '0']);
  assert.ok(existsSync(eventsFile), `run.mjs wrote no events (exit ${run.code}):\n${run.stderr}`);
  const events = await readEvents(eventsFile);
  const last = events.at(-1);
  const outcome =
    last.type === 'ExecutionSucceeded'
      ? { status: 'SUCCEEDED', output: last.output }
      : { status: last.type === 'ExecutionFailed' ? 'FAILED' : last.type, error: last.error, cause: last.cause };
  assert.equal(run.code, outcome.status === 'SUCCEEDED' ? 0 : 1, `exit ${run.code} for ${outcome.status}:\n${run.stderr}`);
  return { outcome, events, stderr: run.stderr };
}

test('every test case ends as its expectation says', { concurrency: 4 }, async (t) => {
  const runs = Object.entries(cases).map(([name, { input, expect }]) =>
    t.test(name, async (t) => {
      const { outcome, events, stderr } = await runCase(t, name, input);
      const mismatches = outcomeMismatches(expect, outcome);
      assert.deepEqual(mismatches, [], `test case ${name}:\n  ${mismatches.join('\n  ')}\nprogress:\n${stderr}`);

      // Each mocked state ran, and took every attempt its mocked response answers: a mock the
      // path no longer reaches, or a retry that no longer happens, shows here.
      for (const [state, responseName] of Object.entries(testCases[name])) {
        const runs = events.filter((e) => e.state === state && (e.type === 'StateEntered' || e.type === 'StateRetried')).length;
        const answered = mockConfig.responses.get(responseName).attempts;
        assert.equal(runs, answered, `test case ${name}: state ${state} ran ${runs} time(s), ${responseName} answers ${answered}`);
      }
    }),
  );
  await Promise.all(runs);
});

// Types written as given rather than field by field: Overrides is the input's JSON Merge Patch.
const WRITTEN_AS_GIVEN = new Set(['Overrides']);

/**
 * A task's output schema, made exact: the tasks write every field (serde writes `null` for
 * `None`; nothing is skipped), and nothing else, so each field is required and no other allowed.
 * The schemas leave optional fields out of `required` because they describe what is read.
 */
function exactSchema(schema, key = null) {
  if (Array.isArray(schema)) return schema.map((item) => exactSchema(item));
  if (schema === null || typeof schema !== 'object') return schema;
  const exact = {};
  for (const [name, value] of Object.entries(schema)) {
    const asGiven = key === '$defs' && WRITTEN_AS_GIVEN.has(name);
    exact[name] = asGiven ? value : exactSchema(value, name);
  }
  if (key !== 'properties' && key !== '$defs' && exact.properties && typeof exact.properties === 'object') {
    exact.required = Object.keys(exact.properties);
    exact.additionalProperties ??= false;
  }
  return exact;
}

// What arn:aws:states:::sns:publish returns (lib/sns.mjs does the same locally).
const SNS_PUBLISH_RESULT = {
  type: 'object',
  required: ['MessageId', 'SdkHttpMetadata', 'SdkResponseMetadata'],
  additionalProperties: false,
  properties: {
    MessageId: { type: 'string', minLength: 1 },
    SdkHttpMetadata: {
      type: 'object',
      required: ['AllHttpHeaders', 'HttpHeaders', 'HttpStatusCode'],
      properties: { HttpStatusCode: { const: 200 } },
    },
    SdkResponseMetadata: { type: 'object', required: ['RequestId'], properties: { RequestId: { type: 'string' } } },
  },
};

test("every mocked Return is what the state's task returns (its output schema, every field written)", () => {
  // The schemas use formats such as int32 and keywords such as example, which ajv does not know.
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const validators = new Map();
  const validatorFor = (task) => {
    if (!validators.has(task)) {
      const file = path.join(SCHEMAS, `${task}.output.schema.json`);
      assert.ok(existsSync(file), `no output schema ${file} for task ${task}`);
      validators.set(task, ajv.compile(exactSchema(JSON.parse(readFileSync(file, 'utf8')))));
    }
    return validators.get(task);
  };
  const problems = [];
  for (const [label, state, value] of answers('Return')) {
    const resource = states.get(state).Resource;
    let validate;
    let result = value;
    if (resource === SNS_PUBLISH) {
      validate = ajv.compile(SNS_PUBLISH_RESULT);
    } else {
      assert.equal(resource, LAMBDA_INVOKE, `${label}: state ${state} is neither lambda:invoke nor sns:publish`);
      if (value.StatusCode !== 200) problems.push(`${label}: StatusCode ${value.StatusCode}, not 200`);
      validate = validatorFor(functionOf(state));
      result = value.Payload;
    }
    if (!validate(result)) {
      const errors = validate.errors.map((e) => {
        const extra = e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : '';
        return `${e.instancePath || '/'} ${e.message}${extra}`;
      });
      problems.push(`${label}: ${errors.join('; ')}`);
    }
  }
  assert.deepEqual(problems, []);
});

/** The error names the tasks raise: schemas/task-error.schema.json, generated from `TaskError::NAMES`. */
function taskErrorNames() {
  const names = JSON.parse(readFileSync(path.join(SCHEMAS, 'task-error.schema.json'), 'utf8')).enum;
  assert.ok(names?.length > 10, `schemas/task-error.schema.json: expected the task error names in its enum`);
  return new Set(names);
}

test('every mocked Throw is an error its task can fail with, with the Cause Step Functions gives', () => {
  const taskErrors = taskErrorNames();
  const problems = [];
  for (const [label, state, { Error: error, Cause: cause }] of answers('Throw')) {
    if (states.get(state).Resource === SNS_PUBLISH) {
      if (!/^(SNS|States)\.\w+$/.test(error)) problems.push(`${label}: ${error} is not an SNS.* or States.* error`);
      continue;
    }
    if (/^(Lambda|States)\.\w+$/.test(error)) continue;
    if (!taskErrors.has(error)) {
      problems.push(`${label}: ${error} is not a TaskError name (schemas/task-error.schema.json), nor Lambda.* or States.*`);
      continue;
    }
    // A function error's Cause is the payload the function posted: {"errorType", "errorMessage"}.
    let payload;
    try {
      payload = JSON.parse(cause);
    } catch {
      payload = null;
    }
    const keys = payload && typeof payload === 'object' ? Object.keys(payload).sort().join(',') : '';
    if (keys !== 'errorMessage,errorType' || payload.errorType !== error || typeof payload.errorMessage !== 'string') {
      problems.push(`${label}: Cause must be {"errorType":"${error}","errorMessage":"..."}, is ${JSON.stringify(cause)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("each case's CheckInput answer is check-input's output for that case's input", () => {
  for (const [name, { input }] of Object.entries(cases)) {
    const response = mockConfig.responses.get(testCases[name]?.CheckInput ?? '');
    assert.ok(response, `test case ${name} does not mock CheckInput, the first state`);
    const answer = response.at(0);
    if ('Throw' in answer) continue;
    const { request, snapshot, targetState, retainOldSeconds } = answer.Return.Payload;
    // check-input writes every default out, and changes nothing given.
    assert.deepEqual(
      outcomeMismatches({ status: 'SUCCEEDED', output: input }, { status: 'SUCCEEDED', output: request }),
      [],
      `test case ${name}: CheckInput's request (${response.name}) is not the case's input with defaults`,
    );
    assert.deepEqual([snapshot, targetState], [null, null], `test case ${name}: ${response.name}`);
    assert.equal(retainOldSeconds, (input.retainOldMinutes ?? 0) * 60, `test case ${name}: ${response.name}`);
  }
});
