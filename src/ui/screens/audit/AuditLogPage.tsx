import { useMemo } from 'react';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useQuery } from 'urql';
import { useLocation, useSearch } from 'wouter';

import { toProblem } from '../../api/errors';
import { Loading, PageHeader, usePageTitle } from '../../app/page';
import { Button } from '../../components/Button';
import { formatDateTime } from '../../components/format';
import { Notice } from '../../components/Notice';
import { Picker } from '../../components/Picker';
import { AuditLogDocument, AuditNamesDocument, type AuditLogQuery } from '../../gql/graphql';

const PAGE_SIZE = 50;
type Event = AuditLogQuery['auditEvents']['edges'][number]['node'];

const ACTION: Record<string, string> = {
  SECRET_READ: 'Value read',
  SECRET_WRITTEN: 'Secret written',
  SECRET_DELETED: 'Secret deleted',
  SECRET_RESTORED: 'Secret restored',
  SECRET_ROLLED_BACK: 'Secret rolled back',
  SECRET_DESTROYED: 'Secret destroyed',
  ENVIRONMENT_CREATED: 'Environment created',
  ENVIRONMENT_DELETED: 'Environment deleted',
  SPACE_CREATED: 'Space created',
  SPACE_DELETED: 'Space deleted',
  TOKEN_CREATED: 'Token created',
  TOKEN_REVOKED: 'Token revoked',
  KEY_REWRAPPED: 'Key re-wrapped',
};

/**
 * The audit log, newest first, a page at a time. The filter and the page
 * cursor live in the URL, so a page of the log can be linked; Back returns
 * to the newer page.
 */
export default function AuditLogPage() {
  usePageTitle('Audit log');
  const params = new URLSearchParams(useSearch());
  const environmentId = params.get('environment') ?? undefined;
  const after = params.get('after') ?? undefined;
  const [, navigate] = useLocation();
  const [{ data, error, fetching }] = useQuery({ query: AuditLogDocument, variables: { environmentId, after, first: PAGE_SIZE } });
  const [{ data: namesData }] = useQuery({ query: AuditNamesDocument });

  const names = useMemo(() => {
    const map = new Map<string, string>();
    for (const environment of namesData?.environments ?? []) {
      map.set(environment.id, environment.name);
      for (const space of environment.spaces) map.set(space.id, space.name);
    }
    for (const token of namesData?.apiTokens ?? []) map.set(token.id, token.name);
    return map;
  }, [namesData]);
  const name = (id: string | null | undefined, fallback: string) => (id ? (names.get(id) ?? fallback) : '—');

  const go = (next: { environment?: string; after?: string }) => {
    const query = new URLSearchParams();
    if (next.environment) query.set('environment', next.environment);
    if (next.after) query.set('after', next.after);
    navigate(`/audit${query.size ? `?${query}` : ''}`);
  };

  const events = data?.auditEvents.edges.map((edge) => edge.node) ?? [];
  const what = (event: Event) =>
    event.secretName
      ? `${event.secretName}${event.secretVersion ? ` v${event.secretVersion}` : ''}${event.source ? ` (${event.source === 'SPACE' ? 'space' : 'environment'})` : ''}`
      : event.subjectTokenId
        ? name(event.subjectTokenId, 'a token')
        : '';

  return (
    <>
      <PageHeader title="Audit log">
        <p className="lede">Every value read, every change and every token event, newest first. The log never holds a value.</p>
      </PageHeader>
      <div className="toolbar">
        <Picker
          label="Environment"
          placeholder="All environments"
          items={namesData?.environments ?? []}
          selectedKey={environmentId ?? null}
          onSelectionChange={(key) => go({ environment: key ?? undefined })}
        />
        {environmentId && (
          <Button variant="quiet" onPress={() => go({})}>
            Show all environments
          </Button>
        )}
      </div>
      {error && <Notice>{toProblem(error).message}</Notice>}
      {!data && fetching && <Loading />}
      {data && (
        <>
          <Table aria-label="Audit events" className="table">
            <TableHeader>
              <Column isRowHeader>When</Column>
              <Column>What</Column>
              <Column>Subject</Column>
              <Column>Environment</Column>
              <Column>Space</Column>
              <Column>By</Column>
            </TableHeader>
            <TableBody items={events} renderEmptyState={() => <p className="empty">No events.</p>}>
              {(event) => (
                <Row id={event.id} className="row">
                  <Cell>{formatDateTime(event.at)}</Cell>
                  <Cell>{ACTION[event.action] ?? event.action}</Cell>
                  <Cell>{what(event)}</Cell>
                  <Cell>{name(event.environmentId, 'deleted')}</Cell>
                  <Cell>{name(event.spaceId, 'deleted')}</Cell>
                  <Cell>{event.tokenId ? name(event.tokenId, 'a token') : 'CLI or start-up'}</Cell>
                </Row>
              )}
            </TableBody>
          </Table>
          <nav aria-label="Audit pages" className="pager">
            {after && (
              <Button onPress={() => go({ environment: environmentId })} variant="secondary">
                Newest
              </Button>
            )}
            {data.auditEvents.pageInfo.hasNextPage && (
              <Button onPress={() => go({ environment: environmentId, after: data.auditEvents.pageInfo.endCursor ?? undefined })} variant="secondary">
                Older events
              </Button>
            )}
          </nav>
        </>
      )}
    </>
  );
}
