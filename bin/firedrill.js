#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// A reader that stopped reading (`firedrill run … | head`) is not an error of firedrill's: the
// rest of the output goes nowhere, and a drill still runs to its end and cleans up after itself.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
