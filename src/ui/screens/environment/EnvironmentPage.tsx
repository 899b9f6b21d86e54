import { PageHeader, ViewTabs, usePageTitle } from '../../app/page';
import { DeveloperSettings } from './DeveloperSettings';
import { SpacesView } from './SpacesView';

/** An environment: opens on its Developer Settings; its Spaces beside. Each view fetches what it shows, the name included. */
export default function EnvironmentPage({ id, view }: { id: string; view: 'settings' | 'spaces' }) {
  return view === 'settings' ? <DeveloperSettings id={id} /> : <SpacesView id={id} />;
}

export function EnvironmentHeader({ id, name, view }: { id: string; name: string; view: 'settings' | 'spaces' }) {
  usePageTitle(view === 'settings' ? 'Developer Settings' : 'Spaces', name);
  return (
    <PageHeader title={name} crumbs={[{ label: 'Environments', href: '/environments' }, { label: name }]}>
      <ViewTabs
        label="Environment"
        tabs={[
          { label: 'Developer Settings', href: `/environments/${id}`, current: view === 'settings' },
          { label: 'Spaces', href: `/environments/${id}/spaces`, current: view === 'spaces' },
        ]}
      />
    </PageHeader>
  );
}

export function MissingEnvironment() {
  usePageTitle('Environment not found');
  return (
    <PageHeader title="Environment not found" crumbs={[{ label: 'Environments', href: '/environments' }]}>
      <p>This environment does not exist, or was deleted. Pick another from the environments.</p>
    </PageHeader>
  );
}
