// aws-local-stepfunctions, with its States.Hash corrected: import the interpreter from here, never
// from the package itself (a module is loaded once, so the first import decides which one runs).
//
// aws-local-stepfunctions 3.0.0 computes States.Hash's MD5, SHA-1, SHA-256, SHA-384 and SHA-512
// with its own code, which gives wrong digests for any input of 56 bytes or more (every message
// that needs a second 64-byte block): States.Hash(<a snapshot ARN>, 'SHA-256') is not the SHA-256
// of the ARN. AWS computes the real digest, as lower-case hex (Step Functions Developer Guide,
// "Intrinsic functions", States.Hash). The load hook below makes the interpreter's States.Hash use
// node:crypto instead; test/start-execution.test.mjs checks the digests against node:crypto.
import { registerHooks } from 'node:module';

const BUNDLE = /\/aws-local-stepfunctions\/build\/main\.node\.esm\.js$/;
// In StatesHash.execute: one `return <algorithm>.getDigest(str);` per algorithm AWS offers.
const DIGEST_CALL = /\breturn (md5|sha1|sha256|sha384|sha512)\.getDigest\(str\);/g;
const ALGORITHMS = 5;

const PRELUDE =
  "import { createHash as localStepfunctionsCreateHash } from 'node:crypto';\n" +
  "const localStepfunctionsDigest = (algorithm, text) => localStepfunctionsCreateHash(algorithm).update(text, 'utf8').digest('hex');\n";

registerHooks({
  load(url, context, nextLoad) {
    const loaded = nextLoad(url, context);
    if (!url.startsWith('file:') || !BUNDLE.test(new URL(url).pathname)) return loaded;
    const source = typeof loaded.source === 'string' ? loaded.source : new TextDecoder().decode(loaded.source);
    let replaced = 0;
    const patched = source.replace(DIGEST_CALL, (_, algorithm) => {
      replaced += 1;
      return `return localStepfunctionsDigest(${JSON.stringify(algorithm)}, str);`;
    });
    if (replaced !== ALGORITHMS) {
      // Another version of the package: check whether its States.Hash is still wrong, then adapt this hook.
      throw new Error(
        `lib/interpreter.mjs: expected ${ALGORITHMS} digest calls in States.Hash of ${url}, found ${replaced}; ` +
          'the aws-local-stepfunctions bundle changed',
      );
    }
    return { ...loaded, source: PRELUDE + patched };
  },
});

const interpreter = await import('aws-local-stepfunctions');

export const { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } = interpreter;
