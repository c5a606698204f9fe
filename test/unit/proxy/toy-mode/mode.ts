/**
 * A toy proxy mode written as a new mode's folder is: one spec, with one flag of its own. It
 * programs nothing (a RecordingProxier underneath) and remembers the options it was made with,
 * so a test can see them arrive. It is registered at run time by the test beside it, never in
 * the registry's list: adding it touches no file outside this folder.
 */
import { defineProxyMode } from '../../../../dataplane/proxy/mode-spec.ts';
import { RecordingProxier } from '../../../../dataplane/proxy/testing/recording-proxier.ts';

export interface ToyOptions {
  colour: 'red' | 'blue';
}

export class ToyProxier extends RecordingProxier {
  constructor(
    nodeName: string,
    readonly options: ToyOptions,
  ) {
    super({ nodeName, mode: 'toy' });
  }
}

/** Whether the host has what the toy needs: a file named by the test. */
export const TOY_NEEDS = '/nonexistent/toy-mode-device';

export const toyMode = defineProxyMode<ToyOptions>({
  name: 'toy',
  summary: 'a test mode that programs nothing',
  flags: [{ name: 'toy-colour', help: 'the colour of nothing', values: ['red', 'blue'], default: 'red' }],
  options: (flags) => ({ colour: flags['toy-colour'] as ToyOptions['colour'] }),
  missing: (host) => (host.hasFile(TOY_NEEDS) ? undefined : `toy mode needs ${TOY_NEEDS}`),
  create: (ctx, options) => new ToyProxier(ctx.nodeName, options),
  metrics: ['kdp_toy_nothing_total'],
});
