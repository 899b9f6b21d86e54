import { useCallback, useEffect, useRef, useState } from 'react';

import { useLiveFeed, type LiveScope, type WatchStatus } from '../api/live';

export type { LiveScope } from '../api/live';

const SETTLE_MS = 250;

/** What a page says about its live updates: `stopped` when they failed, `ended` when the server completed them. */
export type LiveStatus = WatchStatus | 'stopped' | 'ended';

export interface Live {
  readonly status: LiveStatus;
  /** After `stopped`: subscribe again (and refetch, since events may have been missed). */
  resume(): void;
}

/**
 * Keeps a page current while another admin works: each change event for
 * this scope refetches what the page shows, at most once per burst (an
 * import of 200 names is one refetch, not 200). Events carry no value. A
 * dropped socket reconnects by itself and resumes after the last event
 * seen (src/ui/api/live.ts); meanwhile the status is `paused`. When the
 * server completes the subscription (the environment or space was
 * deleted) the page refetches, and so shows that it is gone.
 */
export function useLiveRefetch(scope: LiveScope, refetch: () => void, pause = false): Live {
  const feed = useLiveFeed();
  const latest = useRef(refetch);
  latest.current = refetch;
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [attempt, setAttempt] = useState(0);
  const { environmentId, spaceId, actorId } = scope;

  useEffect(() => {
    if (pause) return;
    const schedule = () => {
      clearTimeout(timer.current);
      timer.current = setTimeout(() => latest.current(), SETTLE_MS);
    };
    if (attempt > 0) schedule(); // resumed by hand: whatever happened while stopped is unknown
    return feed.watch(
      { environmentId, spaceId, actorId },
      {
        changed: schedule,
        status: setStatus,
        ended: (error) => {
          schedule();
          setStatus(error === undefined ? 'ended' : 'stopped');
        },
      },
    );
  }, [feed, environmentId, spaceId, actorId, pause, attempt]);

  useEffect(() => () => clearTimeout(timer.current), []);

  const resume = useCallback(() => setAttempt((n) => n + 1), []);
  return { status, resume };
}
