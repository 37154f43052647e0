export const INPUT = {
  reports: 'reports',
  scanImage: 'scan-image',
  scanPath: 'scan-path',
  trivyCacheDir: 'trivy-cache-dir',
  trivyDbCache: 'trivy-db-cache',
  trivyDbCacheHit: 'trivy-db-cache-hit',
  severityThreshold: 'severity-threshold',
  ignoreUnfixed: 'ignore-unfixed',
  policy: 'policy',
  failOn: 'fail-on',
  category: 'category',
  dockerfile: 'dockerfile',
  sarif: 'sarif',
  uploadSarif: 'upload-sarif',
  createIssues: 'create-issues',
  githubToken: 'github-token',
} as const;

export const OUTPUT = {
  passed: 'passed',
  blocking: 'blocking',
  counts: 'counts',
  sarif: 'sarif',
} as const;

export const ISSUE_LABEL = 'scan-gate';
