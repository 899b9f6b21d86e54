import { PageHeader, ViewTabs, usePageTitle } from '../../app/page';

/** The header of every view of an environment (its name, breadcrumbs and view tabs), and the page for one that does not exist. */
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
