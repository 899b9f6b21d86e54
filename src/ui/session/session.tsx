import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Provider } from 'urql';

import { createApiClient, type ApiClient } from '../api/client';
import { LiveFeedContext } from '../api/live';
import { isUnauthenticated, toProblem } from '../api/errors';
import { SignInDocument, SignOutDocument, ViewerDocument, type ViewerQuery } from '../gql/graphql';

export type Viewer = ViewerQuery['viewer'];

export type SessionState =
  | { readonly status: 'checking' }
  | { readonly status: 'signedOut'; readonly notice?: string }
  | { readonly status: 'unreachable'; readonly message: string }
  | { readonly status: 'signedIn'; readonly viewer: Viewer };

export interface Session {
  readonly state: SessionState;
  /** Exchanges an ADMIN token for a session cookie; the token lives only for this one request. */
  signIn(adminToken: string): Promise<string | undefined>;
  signOut(): Promise<void>;
  retry(): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

export const SESSION_ENDED = 'Your session has ended; sign in again.';

/*
 * The first session check starts while the bundle is still being evaluated,
 * not after React's first render: on a page load it is the request every
 * screen waits for.
 */
let onFirstClientEnded = () => {};
const firstApi = createApiClient(() => onFirstClientEnded());
const firstCheck = firstApi.client.query(ViewerDocument, {}, { requestPolicy: 'network-only' }).toPromise();

/** Holds who is signed in, the urql client of that session, and the move back to sign-in when it ends. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'checking' });
  const stateRef = useRef(state);
  stateRef.current = state;

  const ended = useCallback(() => {
    if (stateRef.current.status === 'signedIn') setState({ status: 'signedOut', notice: SESSION_ENDED });
  }, []);
  onFirstClientEnded = ended;
  const [api, setApi] = useState<ApiClient>(firstApi);
  const apiRef = useRef(api);
  apiRef.current = api;

  /** A fresh client, so nothing cached under the previous session is shown under the next. */
  const renew = useCallback(() => {
    apiRef.current.dispose();
    const next = createApiClient(ended);
    apiRef.current = next;
    setApi(next);
    return next;
  }, [ended]);

  const check = useCallback(async (client: ApiClient['client'], notice?: string, pending?: typeof firstCheck) => {
    const result = await (pending ?? client.query(ViewerDocument, {}, { requestPolicy: 'network-only' }).toPromise());
    if (result.data) setState({ status: 'signedIn', viewer: result.data.viewer });
    else if (result.error && !isUnauthenticated(result.error) && toProblem(result.error).code !== 'FORBIDDEN') {
      setState({ status: 'unreachable', message: toProblem(result.error).message });
    } else setState((current) => (current.status === 'signedOut' ? current : { status: 'signedOut', notice }));
  }, []);

  /* Whenever the session is gone, drop the client and everything it cached. */
  const signedOut = state.status === 'signedOut';
  useEffect(() => {
    if (signedOut) renew();
  }, [signedOut, renew]);

  useEffect(() => {
    void check(apiRef.current.client, undefined, firstCheck);
    return () => apiRef.current.dispose();
  }, [check]);

  /* Sessions end at a fixed time (8 h): go back to sign-in then, not at the next click. */
  const expiresAt = state.status === 'signedIn' ? state.viewer.expiresAt : null;
  useEffect(() => {
    if (!expiresAt) return;
    const delay = Math.min(Math.max(Date.parse(expiresAt) - Date.now() + 500, 0), 2 ** 31 - 1);
    const timer = setTimeout(() => void check(apiRef.current.client, SESSION_ENDED), delay);
    return () => clearTimeout(timer);
  }, [expiresAt, check]);

  const signIn = useCallback(
    async (adminToken: string) => {
      const client = renew().client;
      const result = await client
        .mutation(SignInDocument, {}, { signingIn: true, fetchOptions: { headers: { authorization: `Bearer ${adminToken}` } } })
        .toPromise();
      if (result.error) {
        return isUnauthenticated(result.error) ? 'That token was not accepted. Check it and try again.' : toProblem(result.error).message;
      }
      await check(client);
      return undefined;
    },
    [renew, check],
  );

  const signOut = useCallback(async () => {
    await apiRef.current.client.mutation(SignOutDocument, {}).toPromise();
    setState({ status: 'signedOut', notice: 'You have signed out.' });
  }, []);

  const retry = useCallback(() => {
    setState({ status: 'checking' });
    void check(apiRef.current.client);
  }, [check]);

  const session = useMemo<Session>(() => ({ state, signIn, signOut, retry }), [state, signIn, signOut, retry]);

  return (
    <SessionContext.Provider value={session}>
      <Provider value={api.client}>
        <LiveFeedContext.Provider value={api.live}>{children}</LiveFeedContext.Provider>
      </Provider>
    </SessionContext.Provider>
  );
}
