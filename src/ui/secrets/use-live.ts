import { useEffect, useRef } from 'react';
import { useSubscription } from 'urql';

import { SecretEventsDocument } from '../gql/graphql';

const SETTLE_MS = 250;

export interface LiveScope {
  readonly environmentId?: string;
  readonly spaceId?: string;
  readonly actorId?: string;
}

/**
 * Keeps a page current while another admin works: each change event for
 * this scope refetches what the page shows, at most once per burst (an
 * import of 200 names is one refetch, not 200). Events carry no value.
 */
export function useLiveRefetch(scope: LiveScope, refetch: () => void, pause = false): void {
  const latest = useRef(refetch);
  latest.current = refetch;
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);

  const [{ data }] = useSubscription({ query: SecretEventsDocument, variables: scope, pause });

  useEffect(() => {
    if (!data) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(), SETTLE_MS);
  }, [data]);

  useEffect(() => () => clearTimeout(timer.current), []);
}
