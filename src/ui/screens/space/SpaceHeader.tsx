import { PageHeader, ViewTabs, usePageTitle } from '../../app/page';

/** The header of every view of a space, and the page for one that does not exist. */
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
