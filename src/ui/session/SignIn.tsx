import { useState, type FormEvent } from 'react';
import { Form } from 'react-aria-components';

import { Button } from '../components/Button';
import { SecretInput } from '../components/fields';
import { Notice } from '../components/Notice';
import { usePageTitle } from '../app/page';
import { useSession } from './session';

/**
 * Exchanges an ADMIN token for a session cookie. The token is read from the
 * form once on submit, sent in one request's Authorization header, and the
 * field is cleared: it is never kept in state, storage or the URL.
 */
export function SignIn({ notice }: { notice?: string }) {
  usePageTitle('Sign in');
  const { signIn } = useSession();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const field = form.elements.namedItem('token') as HTMLInputElement;
    if (busy) return;
    const token = field.value.trim();
    field.value = '';
    if (!token) {
      setError('Paste an ADMIN token.');
      field.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    const failure = await signIn(token);
    setBusy(false);
    if (failure) {
      setError(failure);
      field.focus();
    }
  }

  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <p className="brand" aria-hidden="true">
          Secretspace
        </p>
        <h1>Sign in</h1>
        {notice && <Notice tone="info">{notice}</Notice>}
        {error && <Notice>{error}</Notice>}
        <Form onSubmit={submit} className="form">
          <SecretInput
            label="Admin token"
            name="token"
            multiline={false}
            autoFocus
            description="An ADMIN token (on a first embedded start, the one in .data/admin.token). It is exchanged for an 8-hour session and not kept by this page."
          />
          <Button type="submit" variant="primary" isDisabled={busy}>
            Sign in
          </Button>
        </Form>
      </div>
    </main>
  );
}
