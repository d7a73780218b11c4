import { useEffect, useState } from 'preact/hooks';
import type { OwnUser } from '../../../services/client/index.js';
import { createRest } from '../session.js';
import { AuthScreen } from './auth-screen.js';
import { ChatScreen } from './chat-screen.js';

const rest = createRest();

export function App() {
  const [me, setMe] = useState<OwnUser | undefined>();
  const [checking, setChecking] = useState(rest.signedIn);
  const [message, setMessage] = useState<string | undefined>();

  useEffect(() => {
    if (!rest.signedIn) return;
    // A stored session: the profile request refreshes an expired access token by itself.
    rest
      .me()
      .then(setMe, () => {
        void rest.logout();
        setMessage('Please sign in again.');
      })
      .finally(() => setChecking(false));
  }, []);

  if (checking)
    return (
      <p class="splash" role="status">
        Loading…
      </p>
    );
  if (!me) return <AuthScreen rest={rest} notice={message} onSignedIn={setMe} />;
  return (
    <ChatScreen
      key={me.id}
      rest={rest}
      me={me}
      onSignedOut={(why) => {
        setMessage(why);
        setMe(undefined);
      }}
    />
  );
}
