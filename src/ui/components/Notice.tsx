import type { ReactNode } from 'react';

/** An inline message; errors are announced (role=alert), information is polite (role=status). */
export function Notice({ tone = 'error', children }: { tone?: 'error' | 'info' | 'warning'; children: ReactNode }) {
  return (
    <div role={tone === 'error' ? 'alert' : 'status'} className={`notice notice-${tone}`}>
      {children}
    </div>
  );
}
