import { localProvider } from './local/local-provider.js';
import type { Provider } from './provider.js';

/** Provider registry: the scenario's `target.provider` names one of these. */
export const providers = {
  local: localProvider,
} satisfies Record<string, Provider>;

export type ProviderName = keyof typeof providers;
