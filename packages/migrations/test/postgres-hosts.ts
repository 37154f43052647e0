// PostgreSQL as the dry-run meets it away from the runner: under a name that is not a loopback name
// (this machine's own host name, through a forwarder listening where that name resolves), with TLS
// from a test CA, or behind a host that stops answering mid-conversation.
import { lookup } from 'node:dns/promises';
import { chmod, chown, copyFile, stat } from 'node:fs/promises';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type CertificateFiles,
  createCertificateAuthority,
  issueCertificate,
  type LocalPostgres,
} from '@digestline/local';
import pg from 'pg';

export interface NamedHost {
  /** A host name that is not `localhost` or a loopback address, yet leads to the local server. */
  host: string;
  port: number;
  /** `url` (a local server's URL) pointed at this host instead, with query parameters added. */
  rewrite(url: string, params?: Record<string, string>): string;
  /** Whether `text` ever crossed from a client to the server in the clear. */
  carried(text: string): boolean;
  close(): Promise<void>;
}

/**
 * Forwards connections made to this machine's own name to `server`. With `stallOn`, the first bytes
 * from the client that contain it are held back, and from then on nothing passes either way while
 * the connection stays open: a server that stops answering.
 */
export async function startNamedHost(server: LocalPostgres, stallOn?: string): Promise<NamedHost> {
  const host = hostname();
  const { address } = await lookup(host);
  const sockets = new Set<Socket>();
  const sent: Buffer[] = [];
  const listener = createServer((client) => {
    const upstream = netConnect(server.port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let stalled = false;
    client.on('data', (chunk: Buffer) => {
      sent.push(chunk);
      if (stallOn !== undefined && chunk.includes(stallOn)) stalled = true;
      if (!stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => listener.listen(0, address, resolve));
  const { port } = listener.address() as { port: number };
  return {
    host,
    port,
    rewrite(url, params = {}) {
      const target = new URL(url);
      target.hostname = host;
      target.port = String(port);
      for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
      return target.toString();
    },
    carried: (text) => Buffer.concat(sent).includes(text),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/**
 * Turns TLS on in a running local cluster with a certificate for `dnsNames`, signed by a new CA written
 * to `dir`; returns that CA. Plain connections keep working (pg_hba's `host` lines take both).
 */
export async function enableTls(
  server: LocalPostgres,
  dir: string,
  dnsNames: string[],
): Promise<CertificateFiles> {
  const ca = await createCertificateAuthority(dir, 'postgres-ca', 'migration-check test CA');
  const leaf = await issueCertificate(ca, dir, {
    name: 'postgres',
    commonName: dnsNames[0] ?? 'x',
    kind: 'server',
    dnsNames,
  });
  // The server reads its key only when the file belongs to the cluster's owner and nobody else may read it.
  const owner = await stat(server.dataDir);
  const certFile = join(server.dataDir, 'test-server.crt');
  const keyFile = join(server.dataDir, 'test-server.key');
  await copyFile(leaf.certPath, certFile);
  await copyFile(leaf.keyPath, keyFile);
  for (const file of [certFile, keyFile]) {
    await chown(file, owner.uid, owner.gid);
    await chmod(file, 0o600);
  }
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${certFile}'`);
    await admin.query(`ALTER SYSTEM SET ssl_key_file = '${keyFile}'`);
    await admin.query('ALTER SYSTEM SET ssl = on');
    await admin.query('SELECT pg_reload_conf()');
  } finally {
    await admin.end();
  }
  // The reload is a signal: wait until a TLS connection is taken.
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: server.url, ssl: { rejectUnauthorized: false } });
    try {
      await client.connect();
      return ca;
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
