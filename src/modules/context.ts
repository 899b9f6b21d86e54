import type { Loaders } from './loaders';

/** What every resolver receives; built once per request. */
export interface Context {
  readonly loaders: Loaders;
}
