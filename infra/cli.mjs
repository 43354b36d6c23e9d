/**
 * How infra's scripts (generate.mjs, nginx/render.mjs) run from the command line: `main` only
 * when the module is the file Node was started with (importing it, as the tests do, runs
 * nothing), and a failure is one line on stderr naming the script, then exit 1.
 */
import { basename } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export function runIfMain(moduleUrl, main) {
  const file = fileURLToPath(moduleUrl);
  if (!process.argv[1] || file !== process.argv[1]) return;
  try {
    main();
  } catch (error) {
    process.stderr.write(`${basename(file)}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
