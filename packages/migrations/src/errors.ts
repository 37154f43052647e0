/**
 * What the user gave us cannot be used (a path that matches nothing, a file that is not UTF-8 text, a
 * config file with an unknown rule, a database URL that does not parse). The action turns it into a
 * ConfigurationError: the message says what is wrong and how to fix it.
 */
export class MigrationInputError extends Error {
  override name = 'MigrationInputError';
}

/** The database could not be reached or refused us; the message names host and port, never the password. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}
