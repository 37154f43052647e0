// Runs one fuzz target in a worker thread, one input per message, so that the test can end a hang or
// an exhausted heap from outside and name the input that caused it. The target is TypeScript: tsx
// loads it, as the CLI is loaded from source.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const targets = await import(workerData.module);
const target = targets[workerData.name];
if (typeof target !== 'function')
  throw new Error(`${workerData.module} exports no function ${workerData.name}`);

parentPort.on('message', async ({ index, input }) => {
  try {
    await target(input);
    parentPort.postMessage({ index, ok: true });
  } catch (error) {
    parentPort.postMessage({
      index,
      ok: false,
      name: error?.name ?? typeof error,
      code: typeof error?.code === 'string' ? error.code : undefined,
      fault: typeof error?.fault === 'string' ? error.fault : undefined,
      message: String(error?.message ?? error).slice(0, 2_000),
      stack: String(error?.stack ?? '')
        .split('\n')
        .slice(0, 6)
        .join('\n'),
    });
  }
});
parentPort.postMessage({ ready: true });
