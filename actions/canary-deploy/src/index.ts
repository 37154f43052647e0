import { run } from '@digestline/action-kit';
import { main, post } from './main.js';

void run(main, post);
