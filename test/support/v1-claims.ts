import type { Core } from '../../src/application/core.js';
import { CommandPipeline } from '../../src/application/commands/command-pipeline.js';
import { PendingStream } from '../../src/application/commands/pending-stream.js';

/**
 * Links an email to a customer exactly as ingest did under normalization version 1 (trim and
 * lowercase only): the event, the claim under the version-1 key, the view. (Phones were E.164
 * from the start, which libphonenumber reaches through fullwidth digits and zero-width spaces.)
 */
export const linkEmailUnderV1 = async (core: Core, tenant: string, customerId: string, v1Value: string): Promise<void> => {
  const { ports } = core;
  const pipeline = new CommandPipeline(ports, core.repo, core.codec, (t, events) => core.projector.apply(t, events, ports.readModels));
  const key = ports.hasher.claimKey(tenant, 'email', v1Value);
  const at = ports.clock.now();
  await pipeline.run({
    tenant,
    name: 'a version-1 link',
    decide: async () => {
      const stream = new PendingStream(await core.repo.load(tenant, customerId), (s, i) => `v1-${key}-${s}-${i}`);
      stream.run(
        { type: 'Observe', observedAt: at, link: [{ type: 'email', value: v1Value, key }], rejected: [], rulesVersion: 1, facts: [] },
        { observedAt: at, source: 'web', sourcePriority: 10, channel: 'web', messageId: `v1-${key}` },
      );
      return { kind: 'write', streams: [stream], claims: [{ op: 'claim', key, owner: customerId }], committed: () => undefined };
    },
  });
};
