// The GitHub API fixture lives in @digestline/local (the demo answers its jobs' GitHub calls with it too).
export {
  type FixtureResponse,
  type GitHubFixture,
  type RecordedRequest,
  startGitHub,
} from '@digestline/local';
