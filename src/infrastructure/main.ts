import { ConfigError, loadConfig, unknownSettings } from './config.js';
import { EmbeddedUnavailable } from './local/embedded.js';
import { DataDirInUse } from './local/server-lock.js';
import { PortInUse } from './port-check.js';
import { serve } from './server.js';
import { REPEAT_MS } from './signals.js';

// `npm start`: the HTTP API on the embedded default (SQLite under ./.c360, its log follower
// projecting views). C360_STORE=dynamodb starts DynamoDB Local instead; C360_STORE=memory keeps nothing.

const main = async (): Promise<void> => {
  const config = loadConfig();
  for (const warning of unknownSettings(process.env)) console.error(`warning: ${warning}`);
  const server = await serve(config);
  let stoppingSince: number | undefined;
  const stop = async (signal: string) => {
    if (stoppingSince !== undefined) {
      // One Ctrl-C under `npm start` arrives twice: the terminal signals the whole group and npm
      // forwards it to the server. Only a later one cuts the stop short (DynamoDB Local still ends
      // with this process: it watches the pipe from it).
      if (Date.now() - stoppingSince < REPEAT_MS) return;
      console.log(`${signal} again: exiting without finishing the stop`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    console.log(`${signal}: stopping`);
    await server.close();
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
};

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`configuration error: ${e.message}`);
  else if (e instanceof EmbeddedUnavailable) console.error(`cannot start the embedded default: ${e.message}`);
  else if (e instanceof PortInUse || e instanceof DataDirInUse) console.error(`cannot start: ${e.message}`);
  else console.error(e);
  process.exitCode = 1;
});
