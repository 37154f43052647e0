import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, makeTempDir, type Service, startService } from './util.js';

const run = promisify(execFile);

export interface LocalPostgres {
  /** `postgres://user:password@127.0.0.1:port/database`, password URL-encoded. */
  url: string;
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  database: string;
  dataDir: string;
  /** Creates an empty database owned by the superuser and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Everything the server wrote so far, for failure messages. */
  log(): string;
  /** Fast shutdown (open sessions are ended), then the cluster directory is removed. */
  stop(): Promise<void>;
}

const SUPERUSER = 'digestline';
const DATABASE = 'postgres';
const START_ATTEMPTS = 3;

/** Starts a throwaway PostgreSQL cluster on 127.0.0.1 with password (SCRAM) auth for one superuser. */
export async function startPostgres(): Promise<LocalPostgres> {
  const binDir = await findBinDir();
  const owner = await clusterOwner();
  const temp = await makeTempDir('postgres');
  try {
    const dataDir = join(temp.path, 'data');
    const socketDir = join(temp.path, 'socket');
    const password = randomBytes(18).toString('base64url');
    await mkdir(socketDir);
    const passwordFile = join(temp.path, 'password');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (owner !== undefined) {
      for (const path of [temp.path, socketDir, passwordFile]) await chown(path, owner.uid, owner.gid);
    }

    await runAs(owner, join(binDir, 'initdb'), [
      '--pgdata',
      dataDir,
      '--username',
      SUPERUSER,
      `--pwfile=${passwordFile}`,
      '--auth-local=scram-sha-256',
      '--auth-host=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]).catch((error: unknown) => {
      throw new Error(`initdb failed: ${describe(error)}`, { cause: error });
    });

    const failures: string[] = [];
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      // Another process can take the port between freePort() and the bind; a new port fixes that.
      const port = await freePort();
      const service = spawnAs(owner, join(binDir, 'postgres'), [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${socketDir}`,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=20',
        '-c',
        'shared_buffers=16MB',
        '-c',
        'logging_collector=off',
      ]);
      const url = connectionUrl(port, password, DATABASE);
      const ready = await waitForServer(service, url);
      if (ready) {
        return {
          url,
          host: '127.0.0.1',
          port,
          user: SUPERUSER,
          password,
          database: DATABASE,
          dataDir,
          createDatabase: (name) => createDatabase(url, port, password, name),
          log: service.log,
          async stop() {
            await shutDown(service);
            await temp.remove();
          },
        };
      }
      failures.push(service.log());
      await shutDown(service);
      if (!/could not bind|address already in use/i.test(service.log())) break;
    }
    throw new Error(`PostgreSQL did not start:\n${failures.join('\n---\n')}`);
  } catch (error) {
    await temp.remove();
    throw error;
  }
}

async function findBinDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  let versions: number[] = [];
  try {
    versions = readdirSync(root)
      .map(Number)
      .filter((v) => Number.isInteger(v))
      .sort((a, b) => b - a);
  } catch {}
  for (const version of versions) {
    const dir = join(root, String(version), 'bin');
    if (existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    return stdout.trim();
  } catch (error) {
    throw new Error(
      `no PostgreSQL server binaries found in ${root}/*/bin or via pg_config: install the postgresql package`,
      { cause: error },
    );
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/** initdb and postgres refuse to run as root, so as root the cluster belongs to the `postgres` user. */
async function clusterOwner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (error) {
    throw new Error('running as root needs the `postgres` OS user to own the cluster; none was found', {
      cause: error,
    });
  }
}

// setpriv execs the program (runuser would stay around as its parent), so the pid we hold is the
// postmaster's and a SIGINT to it is PostgreSQL's fast shutdown.
function asOwner(owner: Owner | undefined, command: string, args: string[]): [string, string[]] {
  if (owner === undefined) return [command, args];
  return [
    'setpriv',
    [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--init-groups', '--', command, ...args],
  ];
}

function runAs(owner: Owner | undefined, command: string, args: string[]) {
  const [file, argv] = asOwner(owner, command, args);
  return run(file, argv, { env: serverEnv(), maxBuffer: 10 * 1024 * 1024 });
}

function spawnAs(owner: Owner | undefined, command: string, args: string[]): Service {
  const [file, argv] = asOwner(owner, command, args);
  return startService(file, argv, { env: serverEnv() });
}

/** The caller's PG* variables (PGDATA, PGPORT, …) must not leak into our cluster. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG') && !key.startsWith('LC_') && key !== 'LANG') env[key] = value;
  }
  return env;
}

/** Resolves true once a client can log in, false if the server exits first or never answers. */
async function waitForServer(service: Service, url: string): Promise<boolean> {
  const exited = () => service.process.exitCode !== null || service.process.signalCode !== null;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited()) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return false;
}

async function shutDown(service: Service): Promise<void> {
  const child = service.process;
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      timer = setTimeout(resolve, 10_000);
    });
    try {
      process.kill(child.pid, 'SIGINT');
      await exited;
    } catch {}
    clearTimeout(timer);
  }
  // Kills whatever is left of the process group if the fast shutdown did not finish.
  await service.stop();
}

function connectionUrl(port: number, password: string, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

async function createDatabase(url: string, port: number, password: string, name: string): Promise<string> {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new Error(
      `database name ${JSON.stringify(name)} is not a plain identifier: use letters, digits and _`,
    );
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return connectionUrl(port, password, name);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : error.message;
  }
  return String(error);
}
