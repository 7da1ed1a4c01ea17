import { ConfigError, loadConfig } from './config.js';
import { EmbeddedUnavailable } from './local/embedded.js';
import { DataDirInUse } from './local/server-lock.js';
import { PortInUse } from './port-check.js';
import { serve } from './server.js';

// `npm start`: the HTTP API on the embedded default (DynamoDB Local under ./.c360, the Streams
// poller projecting views). C360_STORE=memory runs without Java and keeps nothing.

const main = async (): Promise<void> => {
  const server = await serve(loadConfig());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    await server.close();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
};

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`configuration error: ${e.message}`);
  else if (e instanceof EmbeddedUnavailable) console.error(`cannot start the embedded default: ${e.message}`);
  else if (e instanceof PortInUse || e instanceof DataDirInUse) console.error(`cannot start: ${e.message}`);
  else console.error(e);
  process.exitCode = 1;
});
