export function stampUses(text: string, repo: string, ref: string): string;
