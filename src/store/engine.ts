/** The one engine client the store talks to, started on first use. */
import { EngineClient } from '../workers/engine-client.ts';

let client: EngineClient | null = null;

export function engine(): EngineClient {
  client ??= EngineClient.start();
  return client;
}
