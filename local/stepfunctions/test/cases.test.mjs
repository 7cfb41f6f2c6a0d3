// The cases file (inputs and expectations of mock test cases) and how an outcome is compared with
// an expectation. sfn-local.mjs applies the same rules to LocalStack's outcomes (test/sfn-local.test.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { containsMismatches, loadCases, outcomeMismatches } from '../lib/cases.mjs';
import { SetupError } from '../lib/definition.mjs';
import { sandbox } from './helpers.mjs';

test('an output contains the expected one: objects by the members given, arrays and values whole', () => {
  const actual = { a: 1, b: { c: [1, 2], d: null, e: 'x' }, f: [{ g: 1, h: 2 }] };
  assert.deepEqual(containsMismatches(actual, { b: { c: [1, 2] } }), []);
  assert.deepEqual(containsMismatches(actual, { b: { d: null }, f: [{ g: 1, h: 2 }] }), []);
  assert.deepEqual(containsMismatches(actual, {
    a: 2,
    b: { c: [1], d: 0, z: 1 },
    f: [{ g: 1 }],
  }), [
    '$.a: expected 2, got 1',
    '$.b.c: expected [1], got [1,2]',
    '$.b.d: expected 0, got null',
    '$.b.z: missing',
    // Inside an array, elements are compared whole: no partial elements.
    '$.f: expected [{"g":1}], got [{"g":1,"h":2}]',
  ]);
  assert.deepEqual(containsMismatches(1, { a: 1 }), ['$: expected an object, got 1']);
});

test('an outcome is compared by status, then output, or error name and cause pattern', () => {
  const succeeded = { status: 'SUCCEEDED', output: { mode: 'swap', copy: { origin: 'copied' } } };
  const failed = { status: 'FAILED', error: 'SnapshotNotFound', cause: '{"errorType":"SnapshotNotFound","errorMessage":"x has none"}' };
  assert.deepEqual(outcomeMismatches({ status: 'SUCCEEDED', output: { copy: { origin: 'copied' } } }, succeeded), []);
  assert.deepEqual(outcomeMismatches({ status: 'SUCCEEDED' }, succeeded), []);
  assert.deepEqual(outcomeMismatches({ status: 'SUCCEEDED', output: { mode: 'replace' } }, succeeded), [
    'output $.mode: expected "replace", got "swap"',
  ]);
  assert.deepEqual(outcomeMismatches({ status: 'FAILED', error: 'SnapshotNotFound', cause: 'x has (none|no snapshot)' }, failed), []);
  assert.deepEqual(outcomeMismatches({ status: 'FAILED', error: 'SnapshotTooOld', cause: 'too old' }, failed), [
    'error: expected SnapshotTooOld, got SnapshotNotFound',
    `cause: expected to match /too old/, got ${JSON.stringify(failed.cause)}`,
  ]);
  assert.deepEqual(outcomeMismatches({ status: 'FAILED', error: 'E' }, succeeded), [
    'status: expected FAILED, got SUCCEEDED (output {"mode":"swap","copy":{"origin":"copied"}})',
  ]);
  assert.deepEqual(outcomeMismatches({ status: 'SUCCEEDED' }, failed), [
    `status: expected SUCCEEDED, got FAILED (SnapshotNotFound: ${failed.cause})`,
  ]);
});

test('a cases file is checked: every case has an input and a SUCCEEDED or FAILED expectation', async (t) => {
  const box = await sandbox(t, []);
  const good = await box.json('good.json', {
    stateMachine: 'm',
    cases: {
      A: { description: 'ok', input: {}, expect: { status: 'SUCCEEDED', output: { a: 1 } } },
      B: { input: {}, expect: { status: 'FAILED', error: 'E', cause: '^c' } },
    },
  });
  assert.deepEqual(Object.keys(loadCases(good).cases), ['A', 'B']);

  const bad = await box.json('bad.json', {
    cases: {
      NoInput: { expect: { status: 'SUCCEEDED' } },
      Status: { input: {}, expect: { status: 'DONE' } },
      Mixed: { input: {}, expect: { status: 'SUCCEEDED', error: 'E' }, extra: 1 },
      NoError: { input: {}, expect: { status: 'FAILED', cause: '(' } },
    },
  });
  assert.throws(() => loadCases(bad), (error) => {
    assert.ok(error instanceof SetupError);
    const lines = error.message.split('\n');
    assert.match(lines[0], /^cases file .*bad\.json is not valid:$/);
    assert.deepEqual(lines.slice(1, 6), [
      '  - case NoInput: input must be the execution input, a JSON object',
      '  - case Status: expect.status must be SUCCEEDED or FAILED',
      '  - case Mixed: unknown field(s) extra (description, input, expect)',
      '  - case Mixed: expect.error cannot go with status SUCCEEDED',
      '  - case NoError: a FAILED case names its expect.error',
    ]);
    assert.match(lines[6], /^ {2}- case NoError: expect\.cause is not a regular expression: /);
    return true;
  });
});
