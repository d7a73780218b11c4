import { useState } from 'preact/hooks';
import type { OwnUser, SignalinkRest } from '../../../services/client/index.js';
import { SignalinkError } from '../../../services/client/index.js';

interface Props {
  rest: SignalinkRest;
  notice: string | undefined;
  onSignedIn: (me: OwnUser) => void;
}

/** Explains a refused sign-in or registration in words, field by field where the server says. */
function explain(err: unknown): string {
  if (!(err instanceof SignalinkError)) return 'Something went wrong. Please try again.';
  if (err.code === 'UNAUTHENTICATED') return 'Wrong username, email or password.';
  if (err.code === 'CONFLICT') return 'That username or email is already taken.';
  if (err.code === 'RATE_LIMITED') return 'Too many attempts. Please wait a moment and try again.';
  const fields = (err.details as { fields?: { path?: string; message?: string }[] } | undefined)
    ?.fields;
  if (err.code === 'VALIDATION' && Array.isArray(fields)) {
    const named = fields.map(
      (f) => `${(f.path ?? '').replace(/^body\./, '')}: ${f.message ?? 'invalid'}`,
    );
    return `Please check ${named.join('; ')}`;
  }
  if (err.code === 'UNAVAILABLE') return 'The server cannot be reached. Please try again.';
  return err.message;
}

export function AuthScreen({ rest, notice, onSignedIn }: Props) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const field = (name: string) => String(data.get(name) ?? '').trim();
    setBusy(true);
    setError(undefined);
    try {
      const session =
        mode === 'login'
          ? await rest.login(field('login'), String(data.get('password') ?? ''))
          : await rest.register({
              username: field('username'),
              email: field('email'),
              password: String(data.get('password') ?? ''),
              ...(field('displayName') ? { displayName: field('displayName') } : {}),
            });
      onSignedIn(session.user);
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="auth">
      <h1>Signalink</h1>
      <div class="tabs" role="tablist" aria-label="Account">
        <button
          role="tab"
          type="button"
          aria-selected={mode === 'login'}
          onClick={() => setMode('login')}
        >
          Sign in
        </button>
        <button
          role="tab"
          type="button"
          aria-selected={mode === 'register'}
          onClick={() => setMode('register')}
        >
          Create account
        </button>
      </div>
      {notice && <p class="notice">{notice}</p>}
      <form onSubmit={submit} aria-label={mode === 'login' ? 'Sign in' : 'Create account'}>
        {mode === 'login' ? (
          <label>
            Username or email
            <input name="login" autocomplete="username" required />
          </label>
        ) : (
          <>
            <label>
              Username
              <input
                name="username"
                autocomplete="username"
                required
                minLength={3}
                maxLength={32}
                pattern="[A-Za-z0-9_.\-]+"
              />
            </label>
            <label>
              Email
              <input name="email" type="email" autocomplete="email" required />
            </label>
            <label>
              Display name (optional)
              <input name="displayName" autocomplete="nickname" maxLength={64} />
            </label>
          </>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 8 : 1}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
      </form>
    </main>
  );
}
