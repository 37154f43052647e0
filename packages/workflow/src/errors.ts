import { errorClass } from '@digestline/base';

/**
 * The workflow cannot run as written: GitHub's parser refused it, an expression is invalid, a `uses:`
 * names something this executor does not run, or a called workflow asks for more than its caller grants.
 */
export class WorkflowError extends errorClass('WorkflowError', 'WORKFLOW_INVALID', 'user') {}
