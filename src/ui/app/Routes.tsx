import { lazy, Suspense } from 'react';
import { Redirect, Route, Switch } from 'wouter';

import { Loading, PageHeader, usePageTitle } from './page';

/* Each screen is its own chunk: the first page loads only what it shows. */
const EnvironmentsPage = lazy(() => import('../screens/environments/EnvironmentsPage'));
const EnvironmentPage = lazy(() => import('../screens/environment/EnvironmentPage'));
const SpacePage = lazy(() => import('../screens/space/SpacePage'));
const TokensPage = lazy(() => import('../screens/tokens/TokensPage'));
const AuditLogPage = lazy(() => import('../screens/audit/AuditLogPage'));

export function Routes() {
  return (
    <Suspense fallback={<Loading />}>
      <Switch>
        <Route path="/">
          <Redirect to="/environments" replace />
        </Route>
        <Route path="/sign-in">
          <Redirect to="/environments" replace />
        </Route>
        <Route path="/environments" component={EnvironmentsPage} />
        <Route path="/environments/:environmentId">{(params) => <EnvironmentPage id={params.environmentId} view="settings" />}</Route>
        <Route path="/environments/:environmentId/spaces">{(params) => <EnvironmentPage id={params.environmentId} view="spaces" />}</Route>
        <Route path="/spaces/:spaceId">{(params) => <SpacePage id={params.spaceId} view="secrets" />}</Route>
        <Route path="/spaces/:spaceId/settings">{(params) => <SpacePage id={params.spaceId} view="settings" />}</Route>
        <Route path="/tokens" component={TokensPage} />
        <Route path="/audit" component={AuditLogPage} />
        <Route component={NotFound} />
      </Switch>
    </Suspense>
  );
}

function NotFound() {
  usePageTitle('Not found');
  return (
    <PageHeader title="Page not found">
      <p>There is nothing at this address. Start again from the environments.</p>
    </PageHeader>
  );
}
