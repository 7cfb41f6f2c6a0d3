// Loading, substituting, walking and validating an ASL (JSONPath) definition.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
// asl-validator 4 is CommonJS.
const aslValidator = require('asl-validator');

export const REGION = 'us-east-1';
export const ACCOUNT = '000000000000';
export const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
export const SNS_PUBLISH = 'arn:aws:states:::sns:publish';
// Step Functions' own optimized integration, request-response (not .sync, not .waitForTaskToken).
export const STATES_START_EXECUTION = 'arn:aws:states:::states:startExecution';
// The same, waiting for the child execution to end ("Run a Job"): its DescribeExecution answer is
// the result, Input and Output as JSON text (.sync) or as parsed JSON (.sync:2). Run here nested,
// from the definition --state-machine maps the child state machine's name to (see nested.mjs).
export const STATES_START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync';
export const STATES_START_EXECUTION_SYNC2 = 'arn:aws:states:::states:startExecution.sync:2';
const START_EXECUTION_RESOURCES = [STATES_START_EXECUTION, STATES_START_EXECUTION_SYNC, STATES_START_EXECUTION_SYNC2];

// The Publish parameters the local sns:publish sends; the others (TargetArn, PhoneNumber) are refused.
export const SNS_PUBLISH_PARAMETERS = [
  'TopicArn', 'Message', 'Subject', 'MessageAttributes', 'MessageStructure', 'MessageGroupId', 'MessageDeduplicationId',
];

// The StartExecution parameters the integration takes (API_StartExecution); the others are refused.
export const START_EXECUTION_PARAMETERS = ['StateMachineArn', 'Name', 'Input', 'TraceHeader'];

/** A problem with the command line or the files it names: exit code 2. */
export class SetupError extends Error {}

/** A SetupError in the command line itself: the usage text follows the message. */
export class UsageError extends SetupError {}

/** The command line's option values (parseArgs, strict, no positionals); a UsageError if it does not parse. */
export function parseCommandLine(argv, options) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error.message);
  }
}

export const functionArn = (name) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

/**
 * The name in a state machine ARN (`arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`, optionally
 * followed by `:VERSION` or `:ALIAS`), or null when it is not one.
 */
export function stateMachineNameOf(arn) {
  if (typeof arn !== 'string') return null;
  return /^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:([\w-]{1,80})(?::[\w-]+)?$/.exec(arn)?.[1] ?? null;
}

/**
 * The function name in a Lambda FunctionName or function ARN, as Lambda accepts it: a name,
 * a partial ARN (`123456789012:function:name`) or a full ARN, each with an optional qualifier.
 */
export function functionNameOf(nameOrArn) {
  if (typeof nameOrArn !== 'string') return null;
  const match = /^(?:arn:aws[\w-]*:lambda:[\w-]+:)?(?:\d{12}:)?(?:function:)?([\w-]+)(?::[\w$-]+)?$/.exec(nameOrArn);
  return match ? match[1] : null;
}

const isFunctionArn = (resource) => /^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(?::[\w$-]+)?$/.test(resource);

/**
 * Replaces every `${Name}` with the ARN of the binary `functions[Name]`, the way SAM's
 * DefinitionSubstitutions fill in the real function ARNs, or with `literals[Name]` as it is (a
 * substitution that is not a function, such as another state machine's ARN; it wins over
 * `functions`). Substitution is textual, like SAM's.
 */
export function substitute(text, functions, literals = {}) {
  const lookup = typeof functions === 'function' ? functions : (name) => (Object.hasOwn(functions, name) ? functions[name] : undefined);
  const unknown = new Set();
  const substituted = text.replace(/\$\{([^}]*)\}/g, (_, name) => {
    if (Object.hasOwn(literals, name)) return literals[name];
    const binary = lookup(name);
    if (binary === undefined) {
      unknown.add(name);
      return '';
    }
    return functionArn(binary);
  });
  if (unknown.size > 0) {
    const names = [...unknown].map((n) => '${' + n + '}').join(', ');
    throw new SetupError(`unknown placeholder(s) ${names}: not in the functions file (--functions) nor given with --substitution`);
  }
  return substituted;
}

/**
 * The `--substitution NAME=VALUE` options as `{NAME: VALUE}`. A value goes into the definition's
 * JSON text as it is, so it may not hold what would break a JSON string (`"`, `\`, control
 * characters).
 */
export function parseSubstitutions(options = []) {
  const literals = {};
  for (const option of options) {
    const match = /^([A-Za-z0-9_]+)=(.*)$/s.exec(option);
    if (!match) throw new UsageError(`--substitution ${option}: expected NAME=VALUE (NAME: letters, digits, _)`);
    const [, name, value] = match;
    if (/["\\\u0000-\u001f]/.test(value)) {
      throw new UsageError(`--substitution ${name}: the value may not contain ", \\ or control characters`);
    }
    if (Object.hasOwn(literals, name)) throw new UsageError(`--substitution ${name} is given twice`);
    literals[name] = value;
  }
  return literals;
}

/** Reads a JSON file, naming it in the error. */
export function readJson(file, what) {
  let text;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new SetupError(`cannot read ${what} ${file}: ${error.code ?? error.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SetupError(`${what} ${file} is not valid JSON: ${error.message}`);
  }
}

/**
 * Reads a definition and substitutes its placeholders: those in `substitutions` (from
 * parseSubstitutions) by their values, the others from the functions file. Without a functions
 * file, each other placeholder stands for a function of its own name if `anyPlaceholder`
 * (enough to validate), and is unknown otherwise.
 */
export function loadDefinition(definitionFile, functionsFile, { anyPlaceholder = false, substitutions = {} } = {}) {
  let functions = null;
  if (functionsFile) {
    functions = readJson(functionsFile, 'functions file');
    const valid = functions && typeof functions === 'object' && !Array.isArray(functions);
    const bad = valid ? Object.entries(functions).filter(([, v]) => typeof v !== 'string' || !/^[\w-]+$/.test(v)) : [];
    if (!valid || bad.length > 0) {
      throw new SetupError(`functions file ${functionsFile} must map placeholder names to binary names` +
        (bad.length ? ` (bad: ${bad.map(([k]) => k).join(', ')})` : ''));
    }
  }
  let text;
  try {
    text = fs.readFileSync(definitionFile, 'utf8');
  } catch (error) {
    throw new SetupError(`cannot read definition ${definitionFile}: ${error.code ?? error.message}`);
  }
  try {
    const lookup = functions ?? (anyPlaceholder ? (name) => name : {});
    return { definition: JSON.parse(substitute(text, lookup, substitutions)), functions: functions ?? {} };
  } catch (error) {
    if (error instanceof SetupError) throw error;
    throw new SetupError(`definition ${definitionFile} is not valid JSON after substitution: ${error.message}`);
  }
}

/** Every state of the machine, nested ones too (Parallel branches, Map processors), as [name, state]. */
export function* allStates(machine) {
  for (const [name, state] of Object.entries(machine?.States ?? {})) {
    yield [name, state];
    for (const branch of state.Branches ?? []) yield* allStates(branch);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) yield* allStates(processor);
  }
}

/**
 * How a Task state is run locally. `integration` is LAMBDA_INVOKE (a bare function ARN counts
 * as one), SNS_PUBLISH, STATES_START_EXECUTION, STATES_START_EXECUTION_SYNC or
 * STATES_START_EXECUTION_SYNC2. For Lambda, `wrap` says whether the result is wrapped the way the
 * lambda:invoke integration wraps it, and `functionName` is the statically known function (null
 * when it comes from a path). Throws for resources that cannot run here.
 */
export function taskKind(name, state) {
  const resource = state.Resource;
  if (resource === LAMBDA_INVOKE) {
    const params = state.Parameters ?? {};
    const functionName = Object.hasOwn(params, 'FunctionName') ? functionNameOf(params.FunctionName) : null;
    if (Object.hasOwn(params, 'FunctionName') && !functionName) {
      throw new SetupError(`state ${name}: FunctionName ${JSON.stringify(params.FunctionName)} is not a Lambda function name or ARN`);
    }
    return { integration: LAMBDA_INVOKE, wrap: true, functionName };
  }
  if (typeof resource === 'string' && isFunctionArn(resource)) {
    return { integration: LAMBDA_INVOKE, wrap: false, functionName: functionNameOf(resource) };
  }
  if (resource === SNS_PUBLISH) {
    // Refused now rather than sent without a topic: TargetArn and PhoneNumber are not emulated.
    const unsupported = Object.keys(state.Parameters ?? {})
      .map((key) => key.replace(/\.\$$/, ''))
      .filter((key) => !SNS_PUBLISH_PARAMETERS.includes(key));
    if (unsupported.length > 0) {
      throw new SetupError(
        `state ${name}: sns:publish parameter(s) ${unsupported.join(', ')} cannot run locally ` +
          `(supported: ${SNS_PUBLISH_PARAMETERS.join(', ')})`,
      );
    }
    return { integration: SNS_PUBLISH, wrap: false, functionName: null };
  }
  if (START_EXECUTION_RESOURCES.includes(resource)) {
    const unsupported = Object.keys(state.Parameters ?? {})
      .map((key) => key.replace(/\.\$$/, ''))
      .filter((key) => !START_EXECUTION_PARAMETERS.includes(key));
    if (unsupported.length > 0) {
      throw new SetupError(
        `state ${name}: states:startExecution parameter(s) ${unsupported.join(', ')} are not StartExecution's ` +
          `(it takes ${START_EXECUTION_PARAMETERS.join(', ')})`,
      );
    }
    return { integration: resource, wrap: false, functionName: null };
  }
  throw new SetupError(
    `state ${name}: Resource ${JSON.stringify(resource)} cannot run locally ` +
      `(only ${LAMBDA_INVOKE}, Lambda function ARNs, ${SNS_PUBLISH}, ${STATES_START_EXECUTION} and its .sync and .sync:2 ` +
      'are supported)',
  );
}

/**
 * Checks a definition (already substituted) with asl-validator, plus the rules it misses that
 * AWS enforces when the state machine is created. Returns a list of messages, empty when valid.
 */
export function validate(definition) {
  const problems = [];
  // asl-validator writes a default QueryLanguage into every state: give it a copy.
  const { isValid, errorsText } = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
  if (!isValid) problems.push(...errorsText('\n').split('\n'));

  for (const [name, state] of allStates(definition)) {
    for (const field of ['Retry', 'Catch']) {
      const entries = Array.isArray(state[field]) ? state[field] : [];
      entries.forEach((entry, i) => {
        const errorEquals = Array.isArray(entry?.ErrorEquals) ? entry.ErrorEquals : [];
        if (!errorEquals.includes('States.ALL')) return;
        if (errorEquals.length > 1) {
          problems.push(`state ${name}: ${field}[${i}]: States.ALL must be alone in ErrorEquals`);
        }
        if (i !== entries.length - 1) {
          const what = field === 'Retry' ? 'Retrier' : 'Catcher';
          problems.push(`state ${name}: ${field}[${i}]: a ${what} with States.ALL must be the last one`);
        }
      });
    }
  }
  return problems;
}
