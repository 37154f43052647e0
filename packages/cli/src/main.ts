import { parseArgs } from 'node:util';
import { exitCodeOf, reportError } from '@digestline/base';
import { demoCommand } from './commands/demo.js';
import { preflightCommand } from './commands/preflight.js';
import { promoteCommand, rollbackCommand } from './commands/promote.js';
import { verifyCommand } from './commands/verify.js';
import { verifyAttestationCommand } from './commands/verify-attestation.js';
import { ExitCode, type Io, UsageError } from './errors.js';

export interface CommandArgs {
  positionals: string[];
  values: Record<string, unknown>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Options as node:util parseArgs takes them; `help` is added to every command. */
  options: NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  /** Loads its implementation only when it runs, so --help answers without loading every package. */
  run(args: CommandArgs, io: Io): Promise<number>;
}

const COMMANDS: Command[] = [
  preflightCommand,
  verifyCommand,
  verifyAttestationCommand,
  promoteCommand,
  rollbackCommand,
  demoCommand,
];

const EXIT_CODES = `Exit codes:
  0  everything passed
  1  a gate failed, a verification failed, or a promotion was refused (nothing was changed)
  2  the input is wrong: unknown command or option, missing argument, unreadable or invalid input file
  3  the command could not finish: a registry, database or tool did not answer or failed
  4  an unexpected error (a bug: please report it with the message)`;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'digestline: the gates of the digestline actions, on a laptop.',
    '',
    'Usage: digestline <command> [options]     digestline <command> --help',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    EXIT_CODES,
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return `${command.summary}\n\n${command.usage}\n\n${EXIT_CODES}`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(topic === undefined ? overview() : commandHelp(topic));
    return ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`digestline: unknown command "${name}"; run digestline --help for the list.`);
    return ExitCode.user;
  }
  try {
    let parsed: CommandArgs;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...command.options, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, '.'));
    }
    if (parsed.values.help === true) {
      io.out(commandHelp(command));
      return ExitCode.ok;
    }
    return await command.run(parsed, io);
  } catch (error) {
    io.err(`digestline ${command.name}: ${reportError(error)}`);
    if (error instanceof UsageError) io.err(`\n${command.usage}`);
    return exitCodeOf(error);
  }
}
