import { useMemo, useRef, useState } from 'react';
import { Cell, Column, DialogTrigger, Row, Table, TableBody, TableHeader } from 'react-aria-components';

import { createPlainClient } from '../api/client';
import { toProblem } from '../api/errors';
import { Button } from '../components/Button';
import { DialogActions, FormDialog } from '../components/Dialog';
import { SecretInput } from '../components/fields';
import { plural } from '../components/format';
import { Notice } from '../components/Notice';
import { toast } from '../components/toasts';
import { UpsertSecretDocument } from '../gql/graphql';
import { parseDotenv, type DotenvEntry, type DotenvProblem } from '../lib/dotenv';
import { planImport, type ExistingSecret, type PlannedWrite } from '../lib/import-plan';

const CONCURRENCY = 4;

type Outcome = 'written' | 'conflict' | 'failed';
interface Step {
  readonly entries: readonly DotenvEntry[];
  readonly plan: readonly PlannedWrite[];
  readonly problems: readonly DotenvProblem[];
}

/**
 * Bulk import from pasted .env text: parse → preview by name (new, or
 * replacing vN; values are never compared or shown) → write each name with
 * check-and-set against the version the preview showed. Any problem in the
 * text blocks the whole import; nothing is written from a half-read file.
 */
export function ImportButton({ environmentId, existing, onDone }: { environmentId: string; existing: readonly ExistingSecret[]; onDone: () => void }) {
  const text = useRef<HTMLTextAreaElement & HTMLInputElement>(null);
  const [step, setStep] = useState<Step>();
  const [outcomes, setOutcomes] = useState<Map<string, { outcome: Outcome; message?: string }>>();
  const [busy, setBusy] = useState(false);
  const reset = () => (setStep(undefined), setOutcomes(undefined));

  function preview() {
    const { entries, problems } = parseDotenv(text.current?.value ?? '');
    setStep({ entries, problems, plan: problems.length ? [] : planImport(entries, existing) });
  }

  async function run(close: () => void) {
    if (!step) return;
    setBusy(true);
    const client = createPlainClient();
    const results = new Map<string, { outcome: Outcome; message?: string }>();
    const values = new Map(step.entries.map((entry) => [entry.name, entry.value]));
    const queue = [...step.plan];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let write = queue.shift(); write; write = queue.shift()) {
          const result = await client
            .mutation(UpsertSecretDocument, {
              input: { environmentId, name: write.name, value: values.get(write.name)!, expectedVersion: write.expectedVersion },
            })
            .toPromise();
          const problem = result.error && toProblem(result.error);
          results.set(
            write.name,
            !problem
              ? { outcome: 'written' }
              : problem.code === 'VERSION_CONFLICT'
                ? { outcome: 'conflict', message: 'changed by someone else since the preview; not imported' }
                : { outcome: 'failed', message: problem.message },
          );
        }
      }),
    );
    values.clear();
    setBusy(false);
    onDone();
    const written = [...results.values()].filter((r) => r.outcome === 'written').length;
    if (written === step.plan.length) {
      close();
      toast({ title: `Imported ${plural(written, 'secret')}` });
    } else {
      setOutcomes(results);
    }
  }

  const counts = useMemo(() => {
    const plan = step?.plan ?? [];
    return { added: plan.filter((p) => p.kind === 'new').length, replaced: plan.filter((p) => p.kind === 'replace').length };
  }, [step]);

  return (
    <DialogTrigger onOpenChange={reset}>
      <Button>Import .env</Button>
      <FormDialog title="Import .env" isBusy={busy} wide>
        {(close) => (
          <>
            <div hidden={!!step}>
              <SecretInput
                label=".env text"
                name="dotenv"
                rows={10}
                autoFocus
                inputRef={text}
                className="code"
                description="Paste NAME=value lines; quotes, export and # comments are understood. The text is masked and stays in this dialog: the preview lists names only."
              />
              <DialogActions>
                <Button slot="close">Cancel</Button>
                <Button variant="primary" onPress={preview}>
                  Preview
                </Button>
              </DialogActions>
            </div>
            {step && (
              <div className="import-preview">
                {step.problems.length > 0 ? (
                  <Notice>
                    <p>Nothing can be imported until these lines are fixed:</p>
                    <ul>
                      {step.problems.map((problem, index) => (
                        <li key={index}>{problem.message}</li>
                      ))}
                    </ul>
                  </Notice>
                ) : step.plan.length === 0 ? (
                  <Notice tone="info">There are no NAME=value lines in that text.</Notice>
                ) : (
                  <>
                    <p role="status">
                      {plural(counts.added, 'new secret')}, {plural(counts.replaced, 'existing value')} would be replaced.
                    </p>
                    <Table aria-label="Import preview" className="table">
                      <TableHeader>
                        <Column isRowHeader>Name</Column>
                        <Column className="col-narrow">Line</Column>
                        <Column>Change</Column>
                        {outcomes ? <Column>Result</Column> : <Column className="visually-hidden">Result</Column>}
                      </TableHeader>
                      <TableBody items={step.plan.map((write) => ({ ...write, id: write.name }))}>
                        {(write) => {
                          const result = outcomes?.get(write.name);
                          return (
                            <Row className="row">
                              <Cell>{write.name}</Cell>
                              <Cell>{write.line}</Cell>
                              <Cell>
                                {write.kind === 'new' ? (
                                  <span className="badge badge-new">New</span>
                                ) : (
                                  <span className="badge badge-replace">Replaces v{write.expectedVersion}</span>
                                )}
                              </Cell>
                              <Cell>{result ? (result.outcome === 'written' ? 'Imported' : `Not imported: ${result.message}`) : ''}</Cell>
                            </Row>
                          );
                        }}
                      </TableBody>
                    </Table>
                  </>
                )}
                <DialogActions>
                  {outcomes ? (
                    <Button variant="primary" onPress={close}>
                      Close
                    </Button>
                  ) : (
                    <>
                      <Button onPress={reset} isDisabled={busy}>
                        Back
                      </Button>
                      <Button
                        variant="primary"
                        isDisabled={busy || step.problems.length > 0 || step.plan.length === 0}
                        onPress={() => void run(close)}
                      >
                        {busy ? 'Importing…' : `Import ${plural(step.plan.length, 'secret')}`}
                      </Button>
                    </>
                  )}
                </DialogActions>
              </div>
            )}
          </>
        )}
      </FormDialog>
    </DialogTrigger>
  );
}
