import { run } from '@digestline/action-kit';
import { readInputs } from './inputs.js';

// The inputs are read before the rest of the action is loaded: a misconfigured step fails at once.
void run(async () => {
  const inputs = readInputs();
  const { main } = await import('./main.js');
  await main(inputs);
});
