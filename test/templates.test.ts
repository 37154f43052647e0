import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeTempDir, repoRoot } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type Catalog,
  checkoutViolations,
  concurrencyViolations,
  databaseViolations,
  downloadViolations,
  ISSUE_ACTIONS,
  interfaceViolations,
  loadCatalog,
  loadTemplates,
  loadWorkflowParser,
  permissionViolations,
  pinViolations,
  propertiesViolations,
  referenceViolations,
  registryTokenViolations,
  reusableViolations,
  runExpressionViolations,
  runOutputs,
  type Template,
  templateFromText,
  timeoutViolations,
} from './templates-lib.js';

const templates = loadTemplates(repoRoot);
const catalog: Catalog = loadCatalog(repoRoot, templates);
const reusable = templates.filter((t) => t.kind === 'reusable');
const starterDir = join(repoRoot, 'workflows-templates/starter');
const byFile = (t: Template) => [t.file, t] as const;

/** A small workflow for the negative cases, checked against the real catalog. */
const bad = (text: string, kind: Template['kind'] = 'starter') => templateFromText('bad.yml', text, kind);

const CHECKOUT = 'actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0';

describe('the template set', () => {
  test('has the six reusable workflows the issue names and a starter for each pipeline', () => {
    expect(reusable.map((t) => basename(t.file))).toEqual([
      'blue-green.yml',
      'build-and-sign.yml',
      'canary-deploy.yml',
      'ci.yml',
      'promote.yml',
      'security-audit.yml',
    ]);
    expect(templates.filter((t) => t.kind === 'starter').length).toBeGreaterThanOrEqual(4);
  });

  test('reusable workflows carry the inputs, defaults, secrets and outputs the issue specifies', () => {
    const call = (file: string) => {
      const t = catalog.workflows.get(file);
      const on = (t?.data.on ?? {}) as Record<
        string,
        Record<string, Record<string, Record<string, unknown>>>
      >;
      return on.workflow_call ?? {};
    };
    expect(Object.keys(call('build-and-sign.yml').outputs ?? {})).toEqual(
      expect.arrayContaining(['image_digest', 'image_tag', 'sbom_path']),
    );
    expect(Object.keys(call('promote.yml').inputs ?? {})).toEqual(
      expect.arrayContaining(['image_digest', 'source_env', 'target_env']),
    );
    expect(call('promote.yml').secrets).toHaveProperty('DATABASE_URL');
    const canary = call('canary-deploy.yml');
    const defaults = Object.fromEntries(
      ['traffic_percent', 'error_rate_threshold', 'latency_p99_threshold_ms', 'health_timeout_minutes'].map(
        (k) => [k, canary.inputs?.[k]?.default],
      ),
    );
    expect(defaults).toEqual({
      traffic_percent: 5,
      error_rate_threshold: 5,
      latency_p99_threshold_ms: 2000,
      health_timeout_minutes: 5,
    });
    expect(Object.keys(canary.secrets ?? {})).toEqual(
      expect.arrayContaining(['CANARY_DEPLOY_URL', 'ROLLBACK_WEBHOOK']),
    );
  });

  test("the issue's action interfaces agree with every action.yml written so far", () => {
    const drift: string[] = [];
    for (const [name, spec] of catalog.actions) {
      if (spec.source !== 'action.yml') continue;
      const issue = ISSUE_ACTIONS[name];
      for (const output of issue?.outputs ?? [])
        if (!spec.outputs.includes(output)) drift.push(`${name}: output ${output}`);
    }
    expect(drift).toEqual([]);
  });
});

describe("GitHub's workflow parser", () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let parse: Awaited<ReturnType<typeof loadWorkflowParser>>;
  beforeAll(async () => {
    temp = await makeTempDir('workflow-parser');
    parse = await loadWorkflowParser(repoRoot, temp.path);
  }, 60_000);
  afterAll(() => temp.remove());

  test.each(templates.map(byFile))('accepts %s without errors', async (file, t) => {
    expect(await parse(file, t.text)).toEqual([]);
  });

  test('reports what is wrong in a broken workflow', async () => {
    const errors = await parse(
      'bad.yml',
      `on: pushh\njobs:\n  a:\n    permissions: {contents: bogus}\n    steps:\n      - run: echo \${{ foo( }}\n`,
    );
    expect(errors.join('\n')).toMatch(/Unexpected value 'pushh'/);
    expect(errors.join('\n')).toMatch(/Required property is missing: runs-on/);
    expect(errors.join('\n')).toMatch(/Unexpected value 'bogus'/);
  });
});

describe('least-privilege permissions', () => {
  test.each(templates.map(byFile))('%s grants each job only what its steps need', (_, t) => {
    expect(permissionViolations(t, catalog)).toEqual([]);
  });

  test('refuses a missing mapping, a grant nothing needs, a missing grant and a mismatched call', () => {
    const violations = permissionViolations(
      bad(`on: push
jobs:
  nothing:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
  extra:
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - uses: ${CHECKOUT}
        with: {persist-credentials: false}
  short:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - uses: digestline/actions/canary-deploy@main
  call:
    permissions:
      contents: read
    uses: digestline/actions/.github/workflows/promote.yml@main
`),
      catalog,
    );
    expect(violations).toEqual([
      'bad.yml: the workflow must set `permissions: {}` so only what a job declares is granted',
      'bad.yml: job nothing declares no `permissions:` mapping (read-all/write-all or nothing)',
      'bad.yml: job extra grants contents: write but needs read',
      'bad.yml: job short needs packages: write but grants none',
      'bad.yml: job call needs packages: write but grants none',
      'bad.yml: job call needs id-token: write but grants none',
      'bad.yml: job call needs deployments: write but grants none',
    ]);
  });

  test('accepts a grant for a run step only with a comment saying why', () => {
    const job = (comment: string) =>
      bad(`on: push
permissions: {}
jobs:
  read:
    runs-on: ubuntu-latest
    permissions:
      packages: read${comment}
    steps:
      - run: skopeo inspect docker://ghcr.io/o/r:tag
`);
    expect(permissionViolations(job(''), catalog)).toEqual([
      'bad.yml: job read grants packages: read but needs none',
    ]);
    expect(permissionViolations(job(' # skopeo reads the tags'), catalog)).toEqual([]);
  });
});

describe('pinned uses', () => {
  test.each(templates.map(byFile))(
    '%s pins third parties to a SHA and points ours at digestline/actions',
    (_, t) => {
      expect(pinViolations(t, catalog)).toEqual([]);
    },
  );

  test('refuses tags, short SHAs, missing version comments, local paths and unknown internal names', () => {
    const violations = pinViolations(
      bad(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - uses: actions/checkout@08c6903
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8
      - uses: ./local-action
      - uses: digestline/actions/no-such-action@main
      - uses: digestline/actions/promote@v1
      - uses: docker://alpine:3
`),
      catalog,
    );
    expect(violations).toHaveLength(7);
    expect(violations[0]).toMatch(/actions\/checkout@v5 is not pinned to a full 40-character commit SHA/);
    expect(violations[1]).toMatch(/actions\/checkout@08c6903 is not pinned/);
    expect(violations[2]).toMatch(/has no `# vX.Y.Z` comment/);
    expect(violations[3]).toMatch(/local path/);
    expect(violations[4]).toMatch(/no-such-action@main must name one of our actions/);
    expect(violations[5]).toMatch(/promote@v1 must name one of our actions/);
    expect(violations[6]).toMatch(/not pinned by digest/);
  });
});

describe('no expressions inside run:', () => {
  test.each(templates.map(byFile))('%s passes data to scripts through env:', (_, t) => {
    expect(runExpressionViolations(t)).toEqual([]);
  });

  test('refuses event data, head_ref and inputs spliced into a script', () => {
    const violations = runExpressionViolations(
      bad(`on: pull_request
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - name: title
        run: echo "\${{ github.event.pull_request.title }}"
      - name: branch
        run: git checkout \${{ github.head_ref }}
      - name: safe
        env:
          TITLE: \${{ github.event.pull_request.title }}
        run: echo "$TITLE"
`),
    );
    expect(violations).toEqual([
      'bad.yml: job a, title: `run:` expands an expression (untrusted data); pass it through `env:`',
      'bad.yml: job a, branch: `run:` expands an expression (untrusted data); pass it through `env:`',
    ]);
  });
});

describe('checkout without persisted credentials', () => {
  test.each(templates.map(byFile))('%s sets persist-credentials: false', (_, t) => {
    expect(checkoutViolations(t)).toEqual([]);
  });

  test('refuses a checkout that keeps the token', () => {
    const violations = checkoutViolations(
      bad(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: ${CHECKOUT}
      - uses: ${CHECKOUT}
        with: {persist-credentials: true}
      - uses: ${CHECKOUT}
        with: {persist-credentials: false}
`),
    );
    expect(violations).toHaveLength(2);
  });
});

describe('one deployment per environment at a time', () => {
  test.each(templates.map(byFile))(
    '%s holds the environment concurrency group wherever it deploys',
    (_, t) => {
      expect(concurrencyViolations(t)).toEqual([]);
    },
  );

  test.each(['promote.yml', 'canary-deploy.yml', 'blue-green.yml'])(
    '%s deploys inside an environment',
    (file) => {
      const t = catalog.workflows.get(file);
      const jobs = Object.values((t?.data.jobs ?? {}) as Record<string, Record<string, unknown>>);
      expect(jobs.filter((job) => job.environment !== undefined).length).toBeGreaterThan(0);
    },
  );

  test('refuses a deploy outside an environment, a missing group and a cancelling one', () => {
    const violations = concurrencyViolations(
      bad(`on: push
jobs:
  loose:
    runs-on: ubuntu-latest
    steps:
      - uses: digestline/actions/promote@main
  nogroup:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: echo
  cancels:
    runs-on: ubuntu-latest
    environment: {name: staging}
    concurrency: {group: digestline-environment-staging, cancel-in-progress: true}
    steps:
      - run: echo
`),
    );
    expect(violations).toEqual([
      'bad.yml: job loose moves tags but runs in no `environment:`',
      'bad.yml: job nogroup runs in production without `concurrency: {group: digestline-environment-production, cancel-in-progress: false}`',
      'bad.yml: job cancels runs in staging without `concurrency: {group: digestline-environment-staging, cancel-in-progress: false}`',
    ]);
  });
});

describe('references name outputs that exist', () => {
  test.each(templates.map(byFile))('%s reads only declared outputs, inputs and secrets', (_, t) => {
    expect(referenceViolations(t, catalog)).toEqual([]);
  });

  test('finds the outputs a run step writes', () => {
    expect(
      runOutputs(
        [
          `printf 'name=%s\\n' "$X" >> "$GITHUB_OUTPUT"`,
          'echo "digest=$D" >> $GITHUB_OUTPUT',
          'echo "notes<<EOF" >> "$GITHUB_OUTPUT"',
          'echo "not-an-output=1"',
        ].join('\n'),
      ),
    ).toEqual(['name', 'digest', 'notes']);
  });

  test('refuses unknown outputs of our actions, run steps, jobs and called workflows, and needs outside `needs:`', () => {
    const violations = referenceViolations(
      bad(
        `on:
  workflow_call:
    inputs:
      digest: {type: string, required: true, description: d}
    outputs:
      gone: {description: g, value: '\${{ jobs.gate.outputs.nope }}'}
  workflow_dispatch:
jobs:
  gate:
    runs-on: ubuntu-latest
    outputs:
      passed: \${{ steps.gate.outputs.passed }}
    steps:
      - id: early
        env:
          LATE: \${{ steps.gate.outputs.passed }}
        run: printf 'day=%s\\n' 1 >> "$GITHUB_OUTPUT"
      - id: gate
        uses: digestline/actions/scan-gate@main
        with:
          reports: \${{ steps.early.outputs.week }}
          policy: \${{ steps.gate.outputs.sarif }}
      - env:
          SARIF: \${{ steps.gate.outputs.sarif-path }}
        run: echo
  promote:
    needs: gate
    uses: digestline/actions/.github/workflows/promote.yml@main
    with:
      image_digest: \${{ inputs.digst }}
      target_env: \${{ needs.gate.outputs.failed }}
  after:
    needs: [promote, ghost]
    runs-on: ubuntu-latest
    steps:
      - env:
          REF: \${{ needs.promote.outputs.image_ref }}
          TAG: \${{ needs.promote.outputs.tag }}
          KEY: \${{ secrets.UNDECLARED }}
          GATE: \${{ needs.gate.outputs.passed }}
        run: echo
`,
        'reusable',
      ),
      catalog,
    );
    expect(violations).toEqual([
      'bad.yml outputs.gone.value: jobs.gate.outputs.nope does not exist',
      'bad.yml jobs.gate.steps[0].env.LATE: steps.gate runs after the step that reads it',
      'bad.yml jobs.gate.steps[1].with.reports: steps.early.outputs.week does not exist',
      'bad.yml jobs.gate.steps[1].with.policy: steps.gate runs after the step that reads it',
      'bad.yml jobs.gate.steps[2].env.SARIF: steps.gate.outputs.sarif-path does not exist',
      'bad.yml jobs.promote.with.image_digest: inputs.digst is not a declared input',
      'bad.yml jobs.promote.with.target_env: needs.gate.outputs.failed does not exist',
      'bad.yml: job after needs ghost, which is not a job',
      'bad.yml jobs.after.steps[0].env.TAG: needs.promote.outputs.tag does not exist',
      'bad.yml jobs.after.steps[0].env.KEY: secrets.UNDECLARED is not a declared workflow_call secret',
      "bad.yml jobs.after.steps[0].env.GATE: needs.gate is not in this job's `needs:`",
    ]);
  });
});

describe('inputs and secrets given to actions and reusable workflows', () => {
  test.each(templates.map(byFile))('%s passes only declared inputs and every required one', (_, t) => {
    expect(interfaceViolations(t, catalog)).toEqual([]);
  });

  test('refuses unknown and missing inputs and secrets: inherit', () => {
    const violations = interfaceViolations(
      bad(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: digestline/actions/canary-deploy@main
        with:
          image: x
          traffic: 5
  b:
    uses: digestline/actions/.github/workflows/promote.yml@main
    with:
      target_env: staging
      digest: sha256:00
    secrets: inherit
`),
      catalog,
    );
    expect(violations).toEqual([
      'bad.yml: job a, digestline/actions/canary-deploy@main: input traffic is not declared',
      'bad.yml: job a, digestline/actions/canary-deploy@main: required input digest is missing',
      'bad.yml: job b (digestline/actions/.github/workflows/promote.yml@main): `secrets: inherit` hands over every secret; pass them by name',
      'bad.yml: job b (digestline/actions/.github/workflows/promote.yml@main): input digest is not declared',
      'bad.yml: job b (digestline/actions/.github/workflows/promote.yml@main): required input image_digest is missing',
    ]);
  });
});

describe('reusable workflows', () => {
  test.each(reusable.map(byFile))(
    '%s runs on workflow_call and workflow_dispatch and declares its outputs',
    (_, t) => {
      expect(reusableViolations(t)).toEqual([]);
    },
  );

  test('refuses a workflow without workflow_dispatch or outputs, or a required input a manual run cannot give', () => {
    expect(reusableViolations(bad('on: push\njobs: {}\n', 'reusable'))).toEqual([
      'bad.yml: no `on: workflow_call`',
    ]);
    expect(
      reusableViolations(
        bad(
          'on:\n  workflow_call:\n    inputs:\n      digest: {type: string, required: true}\njobs: {}\n',
          'reusable',
        ),
      ),
    ).toEqual([
      'bad.yml: no `on: workflow_dispatch` for manual runs',
      'bad.yml: workflow_call declares no outputs',
      'bad.yml: input digest has no description',
      'bad.yml: required input digest cannot be given to a manual run (add it to workflow_dispatch)',
    ]);
  });
});

describe('downloaded tools', () => {
  test.each(templates.map(byFile))('%s checks every download against a pinned sha256', (_, t) => {
    expect(downloadViolations(t)).toEqual([]);
  });

  test('refuses a download that is not verified', () => {
    const violations = downloadViolations(
      bad(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: curl -sL https://github.com/aquasecurity/trivy/releases/download/v0.74.0/trivy.tar.gz | tar xz
`),
    );
    expect(violations).toEqual(['bad.yml: job a, step 1: downloads without checking a pinned sha256']);
  });
});

describe('starter templates', () => {
  const files = readdirSync(starterDir);
  const starters = files.filter((f) => f.endsWith('.yml'));

  test('every starter has its .properties.json and every .properties.json a starter', () => {
    const properties = files.filter((f) => f.endsWith('.properties.json'));
    expect(properties.map((f) => f.replace(/\.properties\.json$/, '')).sort()).toEqual(
      starters.map((f) => f.replace(/\.yml$/, '')).sort(),
    );
  });

  test.each(starters)('%s has valid gallery properties', (starter) => {
    const file = join(starterDir, starter.replace(/\.yml$/, '.properties.json'));
    expect(existsSync(file)).toBe(true);
    expect(propertiesViolations(basename(file), readFileSync(file, 'utf8'), files)).toEqual([]);
  });

  test('refuses properties that are not JSON, lack fields, name a missing icon or carry a bad pattern', () => {
    expect(propertiesViolations('x.properties.json', '{name:', [])[0]).toMatch(
      /^x.properties.json: not JSON/,
    );
    expect(
      propertiesViolations(
        'x.properties.json',
        JSON.stringify({ name: '', iconName: 'missing', categories: [], filePatterns: ['(unclosed'] }),
        ['x.yml'],
      ),
    ).toEqual([
      'x.properties.json: name must be a non-empty string',
      'x.properties.json: description must be a non-empty string',
      'x.properties.json: iconName must be `octicon <name>` or the name of an SVG beside the template',
      'x.properties.json: categories must be a non-empty list of strings',
      'x.properties.json: filePatterns entry (unclosed is not a regular expression',
    ]);
  });
});

describe('runtime limits, credentials and databases', () => {
  test.each(templates.map(byFile))('%s bounds every job with timeout-minutes', (_, t) => {
    expect(timeoutViolations(t)).toEqual([]);
  });

  test.each(templates.map(byFile))('%s offers the GitHub token to ghcr.io only', (_, t) => {
    expect(registryTokenViolations(t)).toEqual([]);
  });

  test.each(templates.map(byFile))('%s reads database URLs only inside an environment', (_, t) => {
    expect(databaseViolations(t)).toEqual([]);
  });

  test('refuses an unbounded job, the token as any registry password, and a database URL before approval', () => {
    const t = bad(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: digestline/actions/promote@main
        with:
          registry-password: \${{ secrets.REGISTRY_PASSWORD || github.token }}
      - uses: digestline/actions/migration-check@main
        with:
          database-url: \${{ secrets.STAGING_DATABASE_URL }}
  b:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    environment: staging
    steps:
      - uses: digestline/actions/promote@main
        with:
          registry-password: \${{ secrets.REGISTRY_PASSWORD || (startsWith(env.IMAGE, 'ghcr.io/') && github.token || '') }}
          database-url: \${{ secrets.DATABASE_URL }}
`);
    expect(timeoutViolations(t)).toEqual(['bad.yml: job a has no `timeout-minutes`']);
    expect(registryTokenViolations(t)).toEqual([
      'bad.yml jobs.a.steps[0].with.registry-password: offers the GitHub token to a registry that may not be ghcr.io',
    ]);
    expect(databaseViolations(t)).toEqual(['bad.yml: job a reads a database URL outside any `environment:`']);
  });
});
