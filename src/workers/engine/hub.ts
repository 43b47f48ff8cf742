/**
 * The loadHubModel command: download from the Hugging Face Hub (each file streamed into a Blob kept in
 * the Cache API), then the ordinary load path over those Blobs: the weights are read from them tensor by tensor.
 */
import type { ByteSource } from '../../io/byte-source.ts';
import { DEFAULT_HUB_ENDPOINT, downloadHubModel, HubError } from '../../io/hub.ts';
import { isQuotaError, mb, storageUseSentence } from '../../persist/run-db.ts';
import { errorEvent, post, requireGpu } from './state.ts';

/** Why a downloaded file was not cached, and what that means for the next load. */
async function cacheProblem(file: string, bytes: number, e: unknown): Promise<string> {
  const why = isQuotaError(e) ? `browser storage is full.${await storageUseSentence()}` : `${(e as Error)?.message ?? e}.`;
  return `${file} (${mb(bytes)}) was downloaded but could not be kept in the browser's cache: ${why} The next load of this repo downloads it again.`;
}

/** Where repos are fetched from: VITE_HF_ENDPOINT at build time (tests point it at a local server). */
export const hubEndpoint = (): string => (import.meta.env.VITE_HF_ENDPOINT as string | undefined) || DEFAULT_HUB_ENDPOINT;

/** Progress events at most this often per file (plus each file's last one). */
const PROGRESS_MS = 100;

export async function handleLoadHubModel(
  id: number,
  repo: string,
  revision: string | undefined,
  endpoint: string | undefined,
  load: (id: number, files: ByteSource[]) => Promise<void>,
  /** The Hub access token (gated and private repos): passed to downloadHubModel, kept nowhere. */
  token?: string,
): Promise<void> {
  let files: ByteSource[];
  try {
    const limits = requireGpu().device.limits;
    let last = 0;
    const got = await downloadHubModel(repo, {
      endpoint: endpoint || hubEndpoint(),
      revision,
      token,
      maxBytes: limits.maxBufferSize,
      onProgress: (p) => {
        const now = performance.now();
        if (now - last < PROGRESS_MS && p.loaded !== p.total) return;
        last = now;
        post({ type: 'hubProgress', id, ...p });
      },
      onCacheError: (file, bytes, e) => void cacheProblem(file, bytes, e).then((message) => post({ type: 'hubCacheProblem', id, file, message })),
    });
    files = got.files; // Blobs (nothing to close): the engine keeps them to read its weights again
  } catch (e) {
    post(e instanceof HubError ? { type: 'error', id, message: e.message, code: `hub-${e.code}`, file: e.file } : errorEvent(id, e));
    return;
  }
  await load(id, files);
}
