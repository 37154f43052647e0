/** Points every `uses: <repo>/<path>@<ref>` at `ref`; other actions' pins are left alone. */
export function stampUses(text, repo, ref) {
  const escaped = repo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const internal = new RegExp(`(uses:\\s*['"]?${escaped}/[^@\\s'"]+)@[^\\s'"#]+`, 'g');
  return text.replace(internal, `$1@${ref}`);
}
