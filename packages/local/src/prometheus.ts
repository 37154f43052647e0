import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, makeTempDir, type Service, startService, waitUntil } from './util.js';

export interface LocalPrometheus {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus (Debian's /usr/bin/prometheus) on a free port with storage in a temporary
 * directory, scraping `targets` (`host:port`) every `scrapeIntervalMs`.
 */
export async function startPrometheus(options: {
  targets: string[];
  scrapeIntervalMs?: number;
}): Promise<LocalPrometheus> {
  const dir = await makeTempDir('prometheus');
  const port = await freePort();
  const scrape = `${Math.max(100, options.scrapeIntervalMs ?? 1000)}ms`;
  const config = join(dir.path, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      `  scrape_interval: ${scrape}`,
      `  evaluation_interval: ${scrape}`,
      'scrape_configs:',
      '  - job_name: sample-apps',
      '    static_configs:',
      `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const service: Service = startService('/usr/bin/prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir.path, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      'prometheus',
      async () => {
        if (service.process.exitCode !== null) throw new Error(`prometheus exited: ${service.log()}`);
        const response = await fetch(`${url}/-/ready`).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: 30_000 },
    );
  } catch (error) {
    await service.stop();
    await dir.remove();
    throw error;
  }
  return {
    url,
    log: service.log,
    async stop() {
      await service.stop();
      await dir.remove();
    },
  };
}
