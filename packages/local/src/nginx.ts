import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, makeTempDir, type Service, startService, waitUntil } from './util.js';

export interface LocalNginx {
  /** `http://127.0.0.1:PORT`, proxying every path to the upstream in `upstreamFile`. */
  url: string;
  /** The include file holding the `upstream` block (written by the nginx provider). */
  upstreamFile: string;
  upstreamName: string;
  /** A shell command that makes this nginx reload its configuration. */
  reloadCommand: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A real nginx (Debian's /usr/sbin/nginx) on a free port, in its own temporary prefix, running in the
 * foreground; it proxies to `upstream <upstreamName>` from an include file that starts with all traffic
 * on `stable`.
 */
export async function startNginx(options: {
  stable: string;
  canary: string;
  upstreamName?: string;
}): Promise<LocalNginx> {
  const dir = await makeTempDir('nginx');
  const port = await freePort();
  const upstreamName = options.upstreamName ?? 'app';
  const upstreamFile = join(dir.path, 'upstream.conf');
  const configFile = join(dir.path, 'nginx.conf');
  await writeFile(
    upstreamFile,
    `upstream ${upstreamName} {\n  server ${options.stable} weight=1000;\n  server ${options.canary} down;\n}\n`,
  );
  await writeFile(
    configFile,
    [
      'daemon off;',
      'master_process on;',
      'worker_processes 1;',
      `pid ${join(dir.path, 'nginx.pid')};`,
      `error_log ${join(dir.path, 'error.log')} warn;`,
      'events { worker_connections 512; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${join(dir.path, 'body')};`,
      `  proxy_temp_path ${join(dir.path, 'proxy')};`,
      `  fastcgi_temp_path ${join(dir.path, 'fastcgi')};`,
      `  uwsgi_temp_path ${join(dir.path, 'uwsgi')};`,
      `  scgi_temp_path ${join(dir.path, 'scgi')};`,
      `  include ${upstreamFile};`,
      `  server {`,
      `    listen 127.0.0.1:${port};`,
      `    location / { proxy_pass http://${upstreamName}; proxy_next_upstream off; }`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  // -e: the compiled-in error log (/var/log/nginx) is not writable by a test user.
  const args = ['-p', dir.path, '-c', configFile, '-e', join(dir.path, 'error.log')];
  const service: Service = startService('/usr/sbin/nginx', args);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil('nginx', async () => {
      if (service.process.exitCode !== null) throw new Error(`nginx exited: ${service.log()}`);
      return (await fetch(`${url}/`).catch(() => undefined)) !== undefined;
    });
  } catch (error) {
    await service.stop();
    await dir.remove();
    throw error;
  }
  return {
    url,
    upstreamFile,
    upstreamName,
    reloadCommand: `/usr/sbin/nginx -p '${dir.path}' -c '${configFile}' -e '${join(dir.path, 'error.log')}' -s reload`,
    log: service.log,
    async stop() {
      await service.stop();
      await dir.remove();
    },
  };
}
