import { appendFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { details, fitSummary, mermaid, SUMMARY_LIMIT_BYTES, table, writeSummary } from '../src/index.js';
import { fakeRunner } from './runner.js';

const runner = fakeRunner();
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('table', () => {
  it('renders a markdown table', () => {
    expect(
      table(
        ['image', 'critical'],
        [
          ['app', 0],
          ['worker', 2],
        ],
      ),
    ).toBe('| image | critical |\n| --- | --- |\n| app | 0 |\n| worker | 2 |');
  });

  it('escapes pipes and line breaks so a cell cannot break the table', () => {
    expect(table(['rule', 'detail'], [['a|b', 'line 1\nline 2\r\nline 3']])).toBe(
      '| rule | detail |\n| --- | --- |\n| a\\|b | line 1<br>line 2<br>line 3 |',
    );
  });

  it('pads short rows to the header width', () => {
    expect(table(['a', 'b', 'c'], [['1']])).toBe('| a | b | c |\n| --- | --- | --- |\n| 1 |  |  |');
  });
});

describe('details and mermaid', () => {
  it('folds a markdown body under a plain-text summary', () => {
    expect(details('3 findings in app:<none>', '| a |\n| --- |')).toBe(
      '<details><summary>3 findings in app:&lt;none&gt;</summary>\n\n| a |\n| --- |\n\n</details>',
    );
  });

  it('fences a mermaid diagram, longer than any backtick run inside it', () => {
    expect(mermaid('graph LR\n  dev --> staging\n')).toBe('```mermaid\ngraph LR\n  dev --> staging\n```');
    expect(mermaid('graph LR\n  a["```"] --> b')).toBe('````mermaid\ngraph LR\n  a["```"] --> b\n````');
  });
});

describe('fitSummary', () => {
  it('joins sections with blank lines when they fit', () => {
    expect(fitSummary(['### promote', 'done'])).toBe('### promote\n\ndone\n');
  });

  it('drops whole trailing sections and says how many and why', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((letter) => letter.repeat(100)) as [
      string,
      string,
      string,
      string,
    ];
    const text = fitSummary([a, b, c, d], 400);
    expect(text).toBe(
      `${a}\n\n${b}\n\n> **Summary shortened:** 2 sections were left out to fit the 400 bytes left under GitHub's job summary limit of 1 MiB per step.\n`,
    );
    expect(bytes(text)).toBeLessThanOrEqual(400);
  });

  it.each([500, 501, 502])(
    'cuts an oversized first section without splitting a character (limit %d)',
    (limit) => {
      // Three-byte characters: of three neighbouring limits, two put the cut inside a character.
      const text = fitSummary(['€'.repeat(400), 'next'], limit);
      expect(bytes(text)).toBeLessThanOrEqual(limit);
      expect(text).not.toContain('\uFFFD');
      expect(text).toMatch(
        /^€+\n\n> \*\*Summary shortened:\*\* the first section was cut short and 1 section was left out/,
      );
    },
  );

  it('prefers cutting an oversized first section at a line break', () => {
    const rows = Array.from({ length: 100 }, (_, i) => `| row ${i} |`).join('\n');
    const text = fitSummary([rows], 400);
    const [kept] = text.split('\n\n');
    expect(bytes(text)).toBeLessThanOrEqual(400);
    expect(kept).toMatch(/^(\| row \d+ \|\n)*\| row \d+ \|$/);
  });

  it('keeps more than 1 MiB of sections under the limit', () => {
    const section = (i: number) => `### image ${i}\n\n${'x'.repeat(100 * 1024)}`;
    const sections = Array.from({ length: 15 }, (_, i) => section(i));
    const text = fitSummary(sections);
    expect(bytes(sections.join('\n\n'))).toBeGreaterThan(SUMMARY_LIMIT_BYTES);
    expect(bytes(text)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(text).toContain(section(9));
    expect(text).not.toContain('### image 10');
    expect(text).toContain('5 sections were left out');
  });
});

describe('writeSummary', () => {
  it('appends the sections to the step summary file', async () => {
    await writeSummary(['### promote', table(['from', 'to'], [['staging', 'production']])]);
    await writeSummary(['### second']);
    expect(await runner.summary()).toBe(
      '### promote\n\n| from | to |\n| --- | --- |\n| staging | production |\n### second\n',
    );
  });

  it('writes more than 1 MiB of content as a summary under the limit', async () => {
    const big = Array.from({ length: 12 }, (_, i) => `### part ${i}\n\n${'é'.repeat(50 * 1024)}`);
    await writeSummary(big);
    const written = await runner.summary();
    expect(bytes(written)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(written).toContain('### part 0');
    expect(written).toMatch(/\d+ sections? (was|were) left out/);
  });

  it('counts what the step already wrote to the summary file', async () => {
    await appendFile(runner.files.summary, 'y'.repeat(SUMMARY_LIMIT_BYTES - 1000));
    await writeSummary(['### fits', 'z'.repeat(2000)]);
    const written = await runner.summary();
    expect(bytes(written)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(written).toContain('### fits');
    expect(written).not.toContain('z'.repeat(2000));
    expect(written).toContain('left under GitHub');
  });

  it('skips quietly outside a runner, where there is no summary file', async () => {
    delete process.env.GITHUB_STEP_SUMMARY;
    await expect(writeSummary(['### local'])).resolves.toBeUndefined();
    expect(runner.commands('debug')).toEqual([
      'GITHUB_STEP_SUMMARY is not set; the job summary was not written',
    ]);
  });
});
