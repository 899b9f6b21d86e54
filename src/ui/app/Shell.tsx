import { useEffect, useRef, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';

import { Button } from '../components/Button';
import { useSession, type Viewer } from '../session/session';

const NAV = [
  { label: 'Environments', href: '/environments', match: /^\/(environments|spaces)(\/|$)|^\/$/ },
  { label: 'Tokens', href: '/tokens', match: /^\/tokens/ },
  { label: 'Audit log', href: '/audit', match: /^\/audit/ },
];

/** Every signed-in page: the navigation, who is signed in, Sign out, and focus moved to each new page's heading. */
export function Shell({ viewer, children }: { viewer: Viewer; children: ReactNode }) {
  const { signOut } = useSession();
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // After a client-side navigation, start reading (and tabbing) at the new page, as a full load would.
    const frame = requestAnimationFrame(() => main.current?.querySelector<HTMLElement>('h1')?.focus());
    return () => cancelAnimationFrame(frame);
  }, [location]);

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="top-bar">
        <Link href="/environments" className="brand">
          Secretspace
        </Link>
        <nav aria-label="Main" className="main-nav">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={item.match.test(location) ? 'page' : undefined} className="main-nav-link">
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="viewer">
          <span className="viewer-name" title={viewer.expiresAt ? `Session ends ${new Date(viewer.expiresAt).toLocaleString()}` : undefined}>
            {viewer.name}
          </span>
          <Button variant="quiet" onPress={() => void signOut()}>
            Sign out
          </Button>
        </div>
      </header>
      <main id="main" ref={main} className="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
