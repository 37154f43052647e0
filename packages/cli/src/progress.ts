import type { Io } from './errors.js';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Bytes moved out of a known total: redrawn in place on a terminal, and on a log (CI, a pipe) one line
 * per quarter so the log stays short.
 */
export function progressReporter(io: Io, label: string, total: number) {
  let done = 0;
  let lastQuarter = 0;
  const perBlob = new Map<string, number>();
  const draw = () => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (io.isTTY) {
      process.stderr.write(`\r${label}: ${mib(done)} of ${mib(total)} (${percent}%)`);
      return;
    }
    const quarter = Math.floor(percent / 25);
    if (quarter > lastQuarter) {
      lastQuarter = quarter;
      io.err(`${label}: ${mib(done)} of ${mib(total)} (${percent}%)`);
    }
  };
  return {
    update(blob: string, bytes: number) {
      done += bytes - (perBlob.get(blob) ?? 0);
      perBlob.set(blob, bytes);
      draw();
    },
    /** All of it is there (blobs mounted or already present move no bytes): drawn at 100%, then `summary`. */
    finish(summary: string) {
      if (done < total) {
        done = total;
        draw();
      }
      if (io.isTTY) process.stderr.write('\n');
      io.err(`${label}: ${summary}`);
    },
  };
}
