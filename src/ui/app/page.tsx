import { useEffect, type ReactNode } from 'react';
import { Link } from 'wouter';

/** The tab's title names the screen: people with many tabs, and screen readers, rely on it. */
export function usePageTitle(...parts: (string | undefined)[]): void {
  const title = [...parts.filter(Boolean), 'Secretspace'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}

export interface Crumb {
  readonly label: string;
  readonly href?: string;
}

/** The page heading (focused after each navigation, see Shell) with its trail and actions. */
export function PageHeader({ title, crumbs, actions, children }: { title: string; crumbs?: Crumb[]; actions?: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      {crumbs && crumbs.length > 0 && (
        <nav aria-label="Breadcrumbs" className="crumbs">
          <ol>
            {crumbs.map((crumb) => (
              <li key={crumb.label}>{crumb.href ? <Link href={crumb.href}>{crumb.label}</Link> : crumb.label}</li>
            ))}
          </ol>
        </nav>
      )}
      <div className="page-title-row">
        <h1 tabIndex={-1} className="page-title">
          {title}
        </h1>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
      {children}
    </header>
  );
}

/** Links styled as tabs: each view has its own URL, so they are links with aria-current, not an ARIA tablist. */
export function ViewTabs({ label, tabs }: { label: string; tabs: { label: string; href: string; current: boolean }[] }) {
  return (
    <nav aria-label={label} className="view-tabs">
      <ul>
        {tabs.map((tab) => (
          <li key={tab.href}>
            <Link href={tab.href} aria-current={tab.current ? 'page' : undefined} className="view-tab">
              {tab.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {label}
    </p>
  );
}
