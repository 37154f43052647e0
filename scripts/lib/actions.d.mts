export interface ActionDir {
  name: string;
  dir: string;
}
export const root: string;
export function publishedActions(): ActionDir[];
export function fixtureActions(): ActionDir[];
