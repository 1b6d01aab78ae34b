import { dockerProvider, RUN_LABEL } from '../../src/providers/docker/docker-provider.js';
import { dockerode } from '../../src/providers/docker/runtime.js';
import { localProvider } from '../../src/providers/local/local-provider.js';
import type { Provider, InstanceSpec } from '../../src/providers/provider.js';

/**
 * The image the docker provider runs in this suite: built from Debian's packages by
 * `scripts/setup.sh --test` (no registry image can be pulled on the machines the suite runs on).
 * Users get the official images (postgres:<v>, mariadb:<v>).
 */
export const TEST_IMAGE = process.env.FIREDRILL_TEST_IMAGE ?? 'localhost/firedrill-db:bookworm';

/** A provider as the suite runs it: the docker one with the suite's image. */
export interface ProviderUnderTest extends Provider {
  /** What a scenario's target needs to run on it. */
  readonly target: string;
}

function withImage(provider: Provider): ProviderUnderTest {
  return {
    ...provider,
    target: `provider: docker\n  image: ${TEST_IMAGE}`,
    create: (spec: InstanceSpec, context) => provider.create({ ...spec, image: spec.image ?? TEST_IMAGE }, context),
  };
}

/** Every provider the suite proves the instance seam on. The docker one runs for real (Podman here); it is never skipped. */
export function providersUnderTest(): ProviderUnderTest[] {
  return [{ ...localProvider, target: 'provider: local' }, withImage(dockerProvider)];
}

/** Containers a run left, by the label every container of a run carries (none for the local provider). */
export async function containersOf(runId: string): Promise<string[]> {
  const docker = await dockerode();
  const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } });
  return containers.map((container) => container.Names[0] ?? container.Id);
}
