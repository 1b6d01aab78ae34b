import { localProvider } from '../../src/providers/local/local-provider.js';
import type { Provider } from '../../src/providers/provider.js';

/** Every provider the suite proves the instance seam on. */
export function providersUnderTest(): Provider[] {
  return [localProvider];
}
