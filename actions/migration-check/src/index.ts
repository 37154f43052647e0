import { run } from '@digestline/action-kit';
import { main } from './main.js';

void run(main);
