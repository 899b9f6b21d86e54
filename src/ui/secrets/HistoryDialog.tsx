import { useState } from 'react';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useQuery } from 'urql';

import { toProblem } from '../api/errors';
import { useAction } from '../api/use-mutation';
import { Loading } from '../app/page';
import { Button } from '../components/Button';
import { DialogActions, FormDialog } from '../components/Dialog';
import { formatDateTime } from '../components/format';
import { Notice } from '../components/Notice';
import { toast } from '../components/toasts';
import { RollbackSecretDocument, SecretHistoryDocument } from '../gql/graphql';
import { describeWriteProblem } from './conflict';

export interface HistoryTarget {
  readonly name: string;
  readonly environmentId: string;
  readonly spaceId?: string;
  readonly actorId?: string;
}

/**
 * `History NAME`: the kept versions, newest first. `Roll back to version N`
 * acts at once (a rollback is itself a new version, so it can be rolled
 * back in turn); the server copies the old value, which never passes here.
 */
export function HistoryDialog({ target, onClose }: { target: HistoryTarget; onClose: () => void }) {
  const [{ data, error }] = useQuery({
    query: SecretHistoryDocument,
    variables: { name: target.name, environmentId: target.environmentId, spaceId: target.spaceId, actorId: target.actorId },
    requestPolicy: 'cache-and-network',
  });
  const [rollback, busy] = useAction(RollbackSecretDocument);
  const [problem, setProblem] = useState<string>();
  const secret = data?.secret.secret;
  const versions = secret?.versions.edges.map((edge) => edge.node) ?? [];

  return (
    <FormDialog title={`History of ${target.name}`} isOpen onOpenChange={(open) => !open && onClose()} wide>
      {(close) => (
        <>
          {error && <Notice>{toProblem(error).message}</Notice>}
          {problem && <Notice>{problem}</Notice>}
          {!data && !error && <Loading />}
          {secret && (
            <Table aria-label={`Versions of ${target.name}`} className="table">
              <TableHeader>
                <Column isRowHeader className="col-narrow">
                  Version
                </Column>
                <Column>Written</Column>
                <Column>Note</Column>
                <Column className="col-actions">
                  <span className="visually-hidden">Actions</span>
                </Column>
              </TableHeader>
              <TableBody items={versions}>
                {(version) => (
                  <Row id={version.version} className="row">
                    <Cell>v{version.version}</Cell>
                    <Cell>{formatDateTime(version.createdAt)}</Cell>
                    <Cell>
                      {version.version === secret.version ? <span className="badge badge-current">Current</span> : null}
                      {version.restoredFrom ? ` copy of v${version.restoredFrom}` : ''}
                    </Cell>
                    <Cell className="cell-actions">
                      {version.version !== secret.version && (
                        <Button
                          variant="secondary"
                          isDisabled={busy}
                          aria-label={`Roll back to version ${version.version}`}
                          onPress={async () => {
                            setProblem(undefined);
                            const outcome = await rollback({ input: { id: secret.id, version: version.version, expectedVersion: secret.version } });
                            if (outcome.problem) return setProblem(describeWriteProblem(target.name, outcome.problem, secret.version).message);
                            toast({
                              title: `Rolled ${target.name} back to version ${version.version}`,
                              description: `Now v${outcome.data.rollbackSecret.version}, with the value of v${version.version}.`,
                            });
                          }}
                        >
                          Roll back
                        </Button>
                      )}
                    </Cell>
                  </Row>
                )}
              </TableBody>
            </Table>
          )}
          {secret?.versions.pageInfo.hasNextPage && <p className="hint">Showing the 20 newest versions.</p>}
          <DialogActions>
            <Button onPress={close}>Close</Button>
          </DialogActions>
        </>
      )}
    </FormDialog>
  );
}
