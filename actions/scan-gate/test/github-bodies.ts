// Response bodies shaped as GitHub documents them (the fixture server validates every one).

const REPO = 'https://api.github.com/repos/octo-org/octo-repo';
const NOW = '2026-06-15T12:00:00Z';

const user = {
  login: 'github-actions[bot]',
  id: 41898282,
  node_id: 'MDM6Qm90NDE4OTgyODI=',
  avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
  gravatar_id: '',
  url: 'https://api.github.com/users/github-actions%5Bbot%5D',
  html_url: 'https://github.com/apps/github-actions',
  followers_url: 'https://api.github.com/users/github-actions%5Bbot%5D/followers',
  following_url: 'https://api.github.com/users/github-actions%5Bbot%5D/following{/other_user}',
  gists_url: 'https://api.github.com/users/github-actions%5Bbot%5D/gists{/gist_id}',
  starred_url: 'https://api.github.com/users/github-actions%5Bbot%5D/starred{/owner}{/repo}',
  subscriptions_url: 'https://api.github.com/users/github-actions%5Bbot%5D/subscriptions',
  organizations_url: 'https://api.github.com/users/github-actions%5Bbot%5D/orgs',
  repos_url: 'https://api.github.com/users/github-actions%5Bbot%5D/repos',
  events_url: 'https://api.github.com/users/github-actions%5Bbot%5D/events{/privacy}',
  received_events_url: 'https://api.github.com/users/github-actions%5Bbot%5D/received_events',
  type: 'Bot',
  site_admin: false,
};

export function issue(
  number: number,
  fields: { title?: string; body?: string; state?: 'open' | 'closed' } = {},
) {
  return {
    id: 1_000_000 + number,
    node_id: `I_kwDO${number}`,
    url: `${REPO}/issues/${number}`,
    repository_url: REPO,
    labels_url: `${REPO}/issues/${number}/labels{/name}`,
    comments_url: `${REPO}/issues/${number}/comments`,
    events_url: `${REPO}/issues/${number}/events`,
    html_url: `https://github.com/octo-org/octo-repo/issues/${number}`,
    number,
    state: fields.state ?? 'open',
    title: fields.title ?? `issue ${number}`,
    body: fields.body ?? null,
    user,
    labels: [],
    assignee: null,
    milestone: null,
    locked: false,
    comments: 0,
    closed_at: fields.state === 'closed' ? NOW : null,
    created_at: NOW,
    updated_at: NOW,
    author_association: 'NONE',
  };
}

export function comment(issueNumber: number, body: string) {
  return {
    id: 2_000_000 + issueNumber,
    node_id: `IC_kwDO${issueNumber}`,
    url: `${REPO}/issues/comments/${2_000_000 + issueNumber}`,
    html_url: `https://github.com/octo-org/octo-repo/issues/${issueNumber}#issuecomment-1`,
    issue_url: `${REPO}/issues/${issueNumber}`,
    body,
    user,
    created_at: NOW,
    updated_at: NOW,
    author_association: 'NONE',
  };
}

export const SARIF_ID = '47177e22-5596-11eb-80a1-c1e54ef945c6';
