import { errorClass } from '@digestline/base';
/**
 * What the user gave us cannot be used (a path that matches nothing, a file that is not UTF-8 text, a
 * config file with an unknown rule, a database URL that does not parse). The action turns it into a
 * ConfigurationError: the message says what is wrong and how to fix it.
 */
export class MigrationInputError extends errorClass('MigrationInputError', 'MIGRATION_INPUT', 'user') {}

/** The database could not be reached or refused us; the message names host and port, never the password. */
export class DatabaseUnavailableError extends errorClass(
  'DatabaseUnavailableError',
  'DATABASE_UNAVAILABLE',
  'environment',
) {}
