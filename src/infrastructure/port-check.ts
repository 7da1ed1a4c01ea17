import { createServer } from 'node:net';
import { ConfigError } from './config.js';

// The API's address is checked before anything is built or started (the store, DynamoDB Local), so
// a taken port, a port this user may not listen on, or a C360_HOST that cannot be listened on, is
// reported at once, with the way out, rather than as a raw error after start-up.

export class PortInUse extends Error {
  override readonly name = 'PortInUse';
  constructor(
    readonly port: number,
    readonly host: string,
    /** a port found free just now (nextFreePort), to suggest; none: only PORT=0 is suggested */
    readonly suggestion?: number | undefined,
  ) {
    super(
      `port ${port} on ${host} is already in use (another c360 server, or another program). Stop it, or pick another port: ${
        suggestion === undefined ? 'PORT=0 npm start picks a free one' : `PORT=${suggestion} npm start (free just now; PORT=0 picks a free one)`
      }`,
    );
  }
}

/** Whether `port` can be listened on at `host` this moment. */
const canListen = (port: number, host: string): Promise<boolean> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });

/** The first of the 20 ports after `port` that can be listened on at `host` now (a suggestion that works when given), or undefined. */
export const nextFreePort = async (port: number, host: string): Promise<number | undefined> => {
  for (let p = port + 1; p <= Math.min(65_535, port + 20); p++) if (await canListen(p, host)) return p;
  return undefined;
};

const WAY_OUT = "use 127.0.0.1 (the default: this machine only), 0.0.0.0 (every interface) or an address of one of this machine's interfaces";

/** Why C360_HOST cannot be listened on, by the listen error's code; undefined for other errors. */
const hostProblem = (code: string | undefined, host: string): string | undefined => {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return `${JSON.stringify(host)} is neither an IP address nor a host name that resolves (${code}); ${WAY_OUT}`;
    case 'EAI_AGAIN':
      return `${JSON.stringify(host)} could not be resolved: the name lookup failed for now (${code}); ${WAY_OUT}`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine (${code}); ${WAY_OUT}`;
    case 'EAFNOSUPPORT':
      return `${host} is of an address family this machine does not support (${code}); ${WAY_OUT}`;
    default:
      return undefined;
  }
};

/** the ports below this one are privileged on Linux and the BSDs (unless the system lowered the bound) */
const PRIVILEGED_BELOW = 1_024;

/** Why PORT may not be listened on by this user (EACCES), and what to pick instead. */
const portRefused = (port: number, host: string): string =>
  `port ${port} on ${host} may not be listened on by this user (EACCES${
    port < PRIVILEGED_BELOW
      ? `: ports below ${PRIVILEGED_BELOW} need root or the CAP_NET_BIND_SERVICE capability`
      : ': the system refuses it to this user, e.g. by a security policy'
  }). Pick a port of ${PRIVILEGED_BELOW} or above, e.g. PORT=3000 npm start (the default; PORT=0 picks a free one), and put a reverse proxy in front if it must answer on port ${port}`;

/** A listen error as the user should read it: PortInUse, a ConfigError naming PORT or C360_HOST, or the error itself. */
export const portError = (e: unknown, port: number, host: string): unknown => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return new PortInUse(port, host);
  if (code === 'EACCES') return new ConfigError(`PORT: ${portRefused(port, host)}`);
  const problem = hostProblem(code, host);
  return problem === undefined ? e : new ConfigError(`C360_HOST: ${problem}`);
};

/**
 * Resolves when `port` can be listened on at `host`; rejects with PortInUse when it is taken, with
 * a ConfigError naming PORT when this user may not listen on it (EACCES), and one naming C360_HOST
 * when the host cannot be listened on. Port 0 is always free, but
 * its host is checked all the same.
 */
export const assertPortFree = (port: number, host: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      const error = portError(e, port, host);
      if (error instanceof PortInUse) void nextFreePort(port, host).then((free) => reject(new PortInUse(port, host, free)));
      else reject(error);
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
