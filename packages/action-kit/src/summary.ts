import { appendFile, stat } from 'node:fs/promises';
import { annotation, debug } from './runner.js';

/** GitHub refuses a step's job summary above 1 MiB and shows an error instead of any of it. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

const SEPARATOR = '\n\n';

function escapeCell(value: string | number): string {
  return String(value)
    .replace(/\|/g, '\\|')
    .replace(/\r\n|\r|\n/g, '<br>');
}

export function table(headers: string[], rows: (string | number)[][]): string {
  if (headers.length === 0) return '';
  const line = (cells: (string | number)[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  // Short rows are padded: GitHub renders a row with missing cells, but other renderers drop it.
  const padded = rows.map((row) => [
    ...row,
    ...Array<string>(Math.max(0, headers.length - row.length)).fill(''),
  ]);
  return [line(headers), line(headers.map(() => '---')), ...padded.map(line)].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `summary` is plain text (an image name such as `app:<none>` must not turn into markup); `body` is markdown. */
export function details(summary: string, body: string): string {
  return `<details><summary>${escapeHtml(summary)}</summary>\n\n${body}\n\n</details>`;
}

export function mermaid(source: string): string {
  // A fence must be longer than any backtick run inside it, or the diagram source would close it.
  const longestRun = Math.max(0, ...[...source.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}mermaid\n${source.trim()}\n${fence}`;
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

function omissionNotice(omitted: number, truncated: boolean, limit: number): string {
  const parts: string[] = [];
  if (truncated) parts.push('the first section was cut short');
  if (omitted > 0) parts.push(`${omitted} section${omitted === 1 ? ' was' : 's were'} left out`);
  const reason =
    limit === SUMMARY_LIMIT_BYTES
      ? `to stay under GitHub's job summary limit of ${formatBytes(limit)} per step`
      : `to fit the ${formatBytes(limit)} left under GitHub's job summary limit of ${formatBytes(SUMMARY_LIMIT_BYTES)} per step`;
  return `> **Summary shortened:** ${parts.join(' and ')} ${reason}.\n`;
}

/** The longest prefix of `text` that is at most `maxBytes` of UTF-8, never splitting a character. */
function cutUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // 0b10xxxxxx bytes continue a character: step back to the byte that starts it.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * Joins sections into one summary of at most `limit` bytes. Whole trailing sections are dropped first,
 * because a half table or an unclosed `<details>` renders worse than a missing one; only a first section
 * that cannot fit on its own is cut, at a line break when there is one.
 */
export function fitSummary(sections: string[], limit: number = SUMMARY_LIMIT_BYTES): string {
  const full = `${sections.join(SEPARATOR)}\n`;
  if (byteLength(full) <= limit) return full;

  let kept = 0;
  let used = 0;
  for (const section of sections) {
    const next = used + (kept > 0 ? SEPARATOR.length : 0) + byteLength(section);
    const notice = omissionNotice(sections.length - kept - 1, false, limit);
    if (next + SEPARATOR.length + byteLength(notice) > limit) break;
    used = next;
    kept++;
  }
  if (kept > 0) {
    const notice = omissionNotice(sections.length - kept, false, limit);
    return `${sections.slice(0, kept).join(SEPARATOR)}${SEPARATOR}${notice}`;
  }

  const notice = omissionNotice(sections.length - 1, true, limit);
  const room = limit - byteLength(notice) - SEPARATOR.length;
  if (room <= 0) return '';
  const cut = cutUtf8(sections[0] ?? '', room);
  const lastBreak = cut.lastIndexOf('\n');
  return `${lastBreak > 0 ? cut.slice(0, lastBreak) : cut}${SEPARATOR}${notice}`;
}

/**
 * Appends the sections to the step's job summary. The limit counts what earlier writes in the same step
 * already put in the file, since GitHub measures the whole file.
 */
export async function writeSummary(sections: string[]): Promise<void> {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file) {
    // Outside a runner (a local run of the bundle) there is nowhere to write, and that is no failure.
    debug('GITHUB_STEP_SUMMARY is not set; the job summary was not written');
    return;
  }
  const { size } = await stat(file).catch(() => ({ size: 0 }));
  const text = fitSummary(sections, SUMMARY_LIMIT_BYTES - size);
  if (text === '') {
    annotation(
      'warning',
      `The job summary was not written: the summary file already holds ${size} bytes of ${formatBytes(SUMMARY_LIMIT_BYTES)}.`,
    );
    return;
  }
  await appendFile(file, text, 'utf8');
}
