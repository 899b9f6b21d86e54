import { SpaceSecrets } from './SpaceSecrets';
import { SpaceSettings } from './SpaceSettings';

/** A space: opens on its Secrets (the effective view); Settings beside. */
export default function SpacePage({ id, view }: { id: string; view: 'secrets' | 'settings' }) {
  return view === 'secrets' ? <SpaceSecrets id={id} /> : <SpaceSettings id={id} />;
}
