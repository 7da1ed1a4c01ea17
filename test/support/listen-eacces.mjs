// Loaded with --import into a server process that runs as root (as the tests do): listening on a
// port below 1024 fails as the kernel fails it for any other user, with EACCES from listen().
// Nothing else is changed; a port of 1024 or above listens as usual.
import { Server } from 'node:net';

const listen = Server.prototype.listen;
Server.prototype.listen = function (...args) {
  const options = typeof args[0] === 'object' && args[0] !== null ? args[0] : { port: args[0], host: typeof args[1] === 'string' ? args[1] : undefined };
  const port = Number(options.port);
  if (port > 0 && port < 1024) {
    const address = options.host ?? '::';
    const error = Object.assign(new Error(`listen EACCES: permission denied ${address}:${port}`), { code: 'EACCES', errno: -13, syscall: 'listen', address, port });
    process.nextTick(() => this.emit('error', error));
    return this;
  }
  return listen.apply(this, args);
};
