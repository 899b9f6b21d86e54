import { lazy, Suspense } from 'react';
import { Redirect, Route, Switch } from 'wouter';

import { Loading, PageHeader, usePageTitle } from './page';

/* Each screen is its own chunk: the first page loads only what it shows. */
const screens = {
  environments: () => import('../screens/environments/EnvironmentsPage'),
  environment: () => import('../screens/environment/EnvironmentPage'),
  space: () => import('../screens/space/SpacePage'),
  tokens: () => import('../screens/tokens/TokensPage'),
  audit: () => import('../screens/audit/AuditLogPage'),
};
const EnvironmentsPage = lazy(screens.environments);
const EnvironmentPage = lazy(screens.environment);
const SpacePage = lazy(screens.space);
const TokensPage = lazy(screens.tokens);
const AuditLogPage = lazy(screens.audit);

/**
 * Starts loading the screen of a URL at once, while the session check is
 * still in flight, instead of after it (the module is ready when the route
 * renders).
 */
export function preloadScreen(pathname: string): void {
  const [, first = '', second] = pathname.split('/');
  const load =
    first === 'environments' || first === ''
      ? second
        ? screens.environment
        : screens.environments
      : first === 'spaces'
        ? screens.space
        : first === 'tokens'
          ? screens.tokens
          : first === 'audit'
            ? screens.audit
            : undefined;
  void load?.().catch(() => undefined);
}

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
