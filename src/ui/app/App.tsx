import { lazy, Suspense } from 'react';

import { SessionProvider, useSession } from '../session/session';
import { SignIn } from '../session/SignIn';
import { Button } from '../components/Button';
import { Routes } from './Routes';
import { Shell } from './Shell';

/* The toast region (and its strings in every locale) is needed only once something happened: not in the first page's bundle. */
const Toasts = lazy(() => import('../components/toasts').then((module) => ({ default: module.Toasts })));

export function App() {
  return (
    <SessionProvider>
      <Gate />
      <Suspense fallback={null}>
        <Toasts />
      </Suspense>
    </SessionProvider>
  );
}

/** Signed in: the app at the current URL. Otherwise sign-in, at that same URL, so a link survives signing in. */
function Gate() {
  const { state, retry } = useSession();
  switch (state.status) {
    case 'checking':
      return <p className="splash" aria-busy="true">Loading…</p>;
    case 'unreachable':
      return (
        <main className="splash">
          <h1>Secretspace is not answering</h1>
          <p role="alert">{state.message}</p>
          <Button variant="primary" onPress={retry}>
            Try again
          </Button>
        </main>
      );
    case 'signedOut':
      return <SignIn notice={state.notice} />;
    case 'signedIn':
      return (
        <Shell viewer={state.viewer}>
          <Routes />
        </Shell>
      );
  }
}
