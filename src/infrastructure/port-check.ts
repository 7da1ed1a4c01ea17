import { createServer } from 'node:net';

// The API's port is checked before anything is built or started (the store, DynamoDB Local), so a
// taken port is reported at once, with the way out, rather than as a raw error after start-up.

export class PortInUse extends Error {
  override readonly name = 'PortInUse';
  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super(
      `port ${port} on ${host} is already in use (another c360 server, or another program). Stop it, or pick another port: PORT=${port === 65_535 ? port - 1 : port + 1} npm start (PORT=0 picks a free one)`,
    );
  }
}

/** Resolves when `port` can be listened on at `host`; rejects with PortInUse when it is taken. Port 0 is always free. */
export const assertPortFree = (port: number, host: string): Promise<void> =>
  port === 0
    ? Promise.resolve()
    : new Promise((resolve, reject) => {
        const probe = createServer();
        probe.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new PortInUse(port, host) : e));
        probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
      });

/** The same message when the port is taken between the check and the real listen. */
export const portError = (e: unknown, port: number, host: string): unknown =>
  (e as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE' ? new PortInUse(port, host) : e;
