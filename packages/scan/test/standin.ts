import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A stand-in `trivy` (the real one cannot be installed on these machines): it records its arguments
 * (and, in `<args file>.cwd`, the directory it ran in; in `<args file>.settings`, the size of each
 * settings file it was given), then behaves as STANDIN_MODE says: `ok` copies STANDIN_REPORT to the --output path; `rate-limited`
 * and `db-failed` fail the way Trivy does when its database download fails; `crash` exits 2.
 */
export async function writeStandIn(dir: string): Promise<string> {
  const path = join(dir, 'trivy');
  await writeFile(
    path,
    `#!/bin/sh
printf '%s\\n' "$@" > "$STANDIN_ARGS"
pwd > "$STANDIN_ARGS.cwd"
: > "$STANDIN_ARGS.settings"
output=""
previous=""
for arg in "$@"; do
  if [ "$previous" = "--output" ]; then output="$arg"; fi
  case "$previous" in
    --config|--ignorefile|--secret-config)
      if [ -f "$arg" ]; then size=$(wc -c < "$arg" | tr -d ' '); else size=missing; fi
      printf '%s %s\\n' "$previous" "$size" >> "$STANDIN_ARGS.settings" ;;
  esac
  previous="$arg"
done
case "$STANDIN_MODE" in
  ok) cp "$STANDIN_REPORT" "$output" ;;
  rate-limited)
    echo "2026-06-15T12:00:00Z	FATAL	Fatal error	init error: DB error: failed to download vulnerability DB: OCI repository error: GET https://ghcr.io/v2/aquasecurity/trivy-db/manifests/2: TOOMANYREQUESTS: retry-after: 1m" >&2
    exit 1 ;;
  db-failed)
    echo "2026-06-15T12:00:00Z	FATAL	Fatal error	init error: DB error: failed to download vulnerability DB: dial tcp: lookup ghcr.io: no such host" >&2
    exit 1 ;;
  *) echo "panic: runtime error: invalid memory address" >&2; exit 2 ;;
esac
`,
  );
  await chmod(path, 0o755);
  return path;
}
