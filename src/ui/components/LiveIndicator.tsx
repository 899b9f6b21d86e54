import type { Live } from '../secrets/use-live';
import { Button } from './Button';

const SAYS: Partial<Record<Live['status'], string>> = {
  paused: 'Live updates paused: reconnecting…',
  stopped: 'Live updates stopped.',
};

/**
 * Says nothing while live updates work (or are starting); a quiet line
 * when the socket is down and reconnecting, and a way to resume when the
 * server refused them. The status region is always there, so a screen
 * reader announces the change when it comes.
 */
export function LiveIndicator({ live }: { live: Live }) {
  const says = SAYS[live.status];
  return (
    <span className={`live-status${says ? ' live-status-shown' : ''}`}>
      <span role="status">{says}</span>
      {live.status === 'stopped' && (
        <Button variant="quiet" onPress={live.resume}>
          Resume live updates
        </Button>
      )}
    </span>
  );
}
