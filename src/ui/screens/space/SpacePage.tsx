import { PageHeader, ViewTabs, usePageTitle } from '../../app/page';
import { SpaceSecrets } from './SpaceSecrets';
import { SpaceSettings } from './SpaceSettings';

/** A space: opens on its Secrets (the effective view); Settings beside. */
export default function SpacePage({ id, view }: { id: string; view: 'secrets' | 'settings' }) {
  return view === 'secrets' ? <SpaceSecrets id={id} /> : <SpaceSettings id={id} />;
}

export function SpaceHeader({
  id,
  name,
  environment,
  view,
}: {
  id: string;
  name: string;
  environment: { id: string; name: string };
  view: 'secrets' | 'settings';
}) {
  usePageTitle(view === 'secrets' ? 'Secrets' : 'Settings', name, environment.name);
  return (
    <PageHeader
      title={name}
      crumbs={[
        { label: 'Environments', href: '/environments' },
        { label: environment.name, href: `/environments/${environment.id}` },
        { label: 'Spaces', href: `/environments/${environment.id}/spaces` },
        { label: name },
      ]}
    >
      <ViewTabs
        label="Space"
        tabs={[
          { label: 'Secrets', href: `/spaces/${id}`, current: view === 'secrets' },
          { label: 'Settings', href: `/spaces/${id}/settings`, current: view === 'settings' },
        ]}
      />
    </PageHeader>
  );
}

export function MissingSpace() {
  usePageTitle('Space not found');
  return (
    <PageHeader title="Space not found" crumbs={[{ label: 'Environments', href: '/environments' }]}>
      <p>This space does not exist, or was deleted with its environment.</p>
    </PageHeader>
  );
}
