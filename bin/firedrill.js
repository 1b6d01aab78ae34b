#!/usr/bin/env node
// The command is compiled TypeScript: from a checkout that was never built, say what to run.
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/src/cli/main.js')) throw error;
  process.stderr.write(`firedrill is not built yet: run \`npm run build\` in ${new URL('..', import.meta.url).pathname} (npm run demo builds it too)\n`);
  process.exit(2);
}

// A reader that stopped reading (`firedrill run … | head`) is not an error of firedrill's: the
// rest of the output goes nowhere, and a drill still runs to its end and cleans up after itself.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
