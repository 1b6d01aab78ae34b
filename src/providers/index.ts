import type { Engine } from '../engines/engine.js';
import { DrillSetupError } from '../util/errors.js';
import { dockerProvider } from './docker/docker-provider.js';
import { localProvider } from './local/local-provider.js';
import type { Provider } from './provider.js';

/** Provider registry: the scenario's `target.provider` names one of these; `auto` tries them in this order. */
export const providers = {
  local: localProvider,
  docker: dockerProvider,
} satisfies Record<string, Provider>;

export type ProviderName = keyof typeof providers;

/** What a drill asks of its provider: the scenario's `target.provider`, engine, version and image. */
export interface ProviderRequest {
  name: string;
  engine: Engine;
  version?: string | undefined;
  image?: string | undefined;
}

/**
 * The provider a drill runs on. `auto`: the first that can run the engine and version here
 * (local binaries when that version is installed, else containers) — only those that run images
 * when the scenario names one — or one error naming every way to fix it.
 */
export async function resolveProvider(request: ProviderRequest, registry: Readonly<Record<string, Provider>> = providers): Promise<Provider> {
  const { name, engine, version, image } = request;
  const named: Provider[] = name === 'auto' ? Object.values(registry) : [registry[name]].filter((provider): provider is Provider => Boolean(provider));
  if (named.length === 0) throw new DrillSetupError(`unknown provider "${name}"`, `known: auto, ${Object.keys(registry).join(', ')}`);
  const candidates = image ? named.filter((provider) => provider.runsImages) : named;
  if (candidates.length === 0) {
    throw new DrillSetupError(`target.image ${image} needs a provider that runs container images, and provider "${name}" does not`, `remove target.image, or use provider ${Object.values(registry).filter((provider) => provider.runsImages).map((provider) => provider.name).join(' or ')} (or auto)`);
  }
  const reasons: string[] = [];
  const hints: string[] = [];
  for (const provider of candidates) {
    const available = await provider.available(engine, version);
    if (available.ok) return provider;
    reasons.push(`${provider.name}: ${available.reason}`);
    hints.push(available.hint);
  }
  const what = `${engine.displayName}${version ? ` ${version}` : ''}`;
  throw new DrillSetupError(`no provider can run ${what} here (${reasons.join('; ')})`, hints.join('; or '));
}
