import { DeveloperSettings } from './DeveloperSettings';
import { SpacesView } from './SpacesView';

/** An environment: opens on its Developer Settings; its Spaces beside. Each view fetches what it shows, the name included. */
export default function EnvironmentPage({ id, view }: { id: string; view: 'settings' | 'spaces' }) {
  return view === 'settings' ? <DeveloperSettings id={id} /> : <SpacesView id={id} />;
}
