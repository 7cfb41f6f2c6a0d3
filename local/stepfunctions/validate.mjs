// Validates an Amazon States Language definition the way creating the state machine would:
// placeholders become fake function ARNs, asl-validator checks the result, and so do the rules
// it misses (States.ALL alone in its ErrorEquals and in the last Retrier/Catcher).
//
//   validate.mjs [--functions FILE] [--substitution NAME=VALUE]... DEFINITION...
//
// Each --substitution replaces ${NAME} with VALUE as it is (a placeholder that is not a function,
// such as another state machine's ARN). Without --functions each other ${Name} stands for a
// function called Name. Exit status: 0 all valid,
// 1 some definition invalid, 2 usage error or unreadable file.
import { parseArgs } from 'node:util';

import { loadDefinition, parseSubstitutions, SetupError, validate } from './lib/definition.mjs';

const USAGE = 'usage: validate.mjs [--functions FILE] [--substitution NAME=VALUE]... DEFINITION...';

let code = 0;
let args;
try {
  args = parseArgs({
    options: {
      functions: { type: 'string' },
      substitution: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
} catch (error) {
  console.error(`validate.mjs: ${error.message}\n${USAGE}`);
  process.exit(2);
}
const { values, positionals } = args;
if (values.help || positionals.length === 0) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
try {
  const substitutions = parseSubstitutions(values.substitution);
  for (const file of positionals) {
    const { definition } = loadDefinition(file, values.functions, { anyPlaceholder: true, substitutions });
    const problems = validate(definition);
    if (problems.length === 0) {
      console.error(`✓ ${file} is valid`);
    } else {
      console.error(`✗ ${file} is not a valid state machine:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      code = 1;
    }
  }
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  console.error(`validate.mjs: ${error.message}`);
  code = 2;
}
process.exit(code);
