import { CliError } from './cli-error.js';

// A running server as the target of a job (`c360 seed --url`): Segment batches over HTTP, with a
// write key as the Basic-auth user name, at most 100 calls each. The server stores and projects them as it does any client's; the job keeps nothing.

export const MAX_BATCH_CALLS = 100;

export type RemoteInvalid = {
  readonly index: number;
  readonly code: string;
  /** why (a server from before it sent this answers only the code) */
  readonly message?: string;
  readonly issues?: readonly { readonly path: string; readonly message: string }[];
  readonly quarantineId?: string;
};
export type RemoteTarget = {
  readonly url: string;
  /**
   * sends one batch (≤ 100 calls, in order); resolves to the calls the server refused (quarantined),
   * by index. A batch of one call that the server refuses as a body and keeps (400 naming its
   * quarantine entry) resolves to that call refused; any other answer that is not 2xx throws. `source` names the calls' source (C360-Source), which only an admin token may do.
   */
  send(calls: readonly unknown[], source?: string): Promise<readonly RemoteInvalid[]>;
};

/** How a job authenticates to the server: a write key (its calls are its source) or an admin token (it may name the source). */
export type RemoteCredential = { readonly writeKey: string } | { readonly adminToken: string };

const RETRIABLE = new Set([429, 502, 503, 504]);

export const remoteTarget = (url: string, credential: string | RemoteCredential, fetchImpl: typeof fetch = fetch): RemoteTarget => {
  const base = url.replace(/\/+$/, '');
  const c = typeof credential === 'string' ? { writeKey: credential } : credential;
  const authorization = 'writeKey' in c ? `Basic ${Buffer.from(`${c.writeKey}:`).toString('base64')}` : `Bearer ${c.adminToken}`;
  const send = async (calls: readonly unknown[], source?: string): Promise<readonly RemoteInvalid[]> => {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetchImpl(`${base}/v1/batch`, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json', ...(source === undefined ? {} : { 'c360-source': source }) },
          body: JSON.stringify({ batch: calls }),
        });
      } catch (e) {
        const inner = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
        const cause = inner?.code ?? inner?.errors?.[0]?.code ?? inner?.message ?? (e as Error).message;
        throw new CliError(`cannot reach the server at ${base} (${cause}): is it running (npm start)? Check --url`);
      }
      const text = await res.text();
      if (res.ok) {
        // the batch's refused calls share one quarantine entry, named once at the top of the answer
        const answer = JSON.parse(text) as { invalid?: RemoteInvalid[]; quarantineId?: string };
        const shared = answer.quarantineId;
        return (answer.invalid ?? []).map((i) => (shared && !i.quarantineId ? { ...i, quarantineId: shared } : i));
      }
      if (RETRIABLE.has(res.status) && attempt < 6) {
        const after = Number(res.headers.get('retry-after'));
        await new Promise((r) => setTimeout(r, Number.isFinite(after) && after > 0 ? after * 1000 : 100 * 2 ** attempt));
        continue;
      }
      let message = text.slice(0, 300);
      let error: (RemoteInvalid & { readonly quarantineId?: string }) | undefined;
      try {
        error = (JSON.parse(text) as { error?: Omit<RemoteInvalid, 'index'> }).error as typeof error;
        message = error?.message ?? message;
      } catch {}
      // a batch of one call refused as a body (and kept: the answer names its quarantine entry) is
      // that call refused, as it would be listed in a batch's answer; a larger batch so refused stops the job
      if (res.status === 400 && calls.length === 1 && error?.code && error.quarantineId) return [{ ...error, index: 0 }];
      const hint =
        res.status === 401 || res.status === 403
          ? 'writeKey' in c
            ? ": check the write key (--write-key, C360_WRITE_KEY, or the data dir's secrets.json with C360_DATA_DIR)"
            : ": check the admin token (--admin-token, C360_ADMIN_TOKEN, or the data dir's secrets.json with C360_DATA_DIR)"
          : '';
      throw new CliError(`the server at ${base} answered ${res.status} to a batch: ${message}${hint}`);
    }
  };
  return { url: base, send };
};
