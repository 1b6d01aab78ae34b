import { formatProblem, parseScenario, ScenarioError } from '../../src/scenario/loader.js';

/** The formatted problems a scenario text is rejected with; throws if it is accepted. */
export async function problemsOf(text: string): Promise<string[]> {
  try {
    await parseScenario(text, 'scenarios/x.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('the scenario was accepted');
}
