import { Layout, useBase } from './layout.js';

export const SignInPage = (p: { next: string; error?: string | undefined }) => {
  const base = useBase();
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
      <p class="muted">Use an API bearer token. The console can do what the token's scopes allow, for the token's tenant.</p>
      {p.error ? (
        <p class="error" role="alert">
          {p.error}
        </p>
      ) : null}
      <form method="post" action={`${base}/sign-in`}>
        <input type="hidden" name="next" value={p.next} />
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required />
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
    </Layout>
  );
};
