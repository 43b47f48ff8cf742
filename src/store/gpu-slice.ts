/** The engine and its GPU: starting, ready with an adapter, unavailable (with why), or failed. */
import type { AdapterSummary, UnavailableReason } from '../workers/protocol.ts';
import type { SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';

export type EngineStatus = 'starting' | 'ready' | 'unavailable' | 'failed';

export interface GpuSlice {
  engineStatus: EngineStatus;
  adapter: AdapterSummary | null;
  unavailable: { reason: UnavailableReason; message: string } | null;
  /** The latest engine-wide problem (worker crash, device lost), shown as a banner. */
  engineError: string | null;
  /** Start the worker and find the GPU; call once at start-up. */
  startEngine(): Promise<void>;
}

export const createGpuSlice: SliceCreator<GpuSlice> = (set) => ({
  engineStatus: 'starting',
  adapter: null,
  unavailable: null,
  engineError: null,
  async startEngine() {
    const client = engine();
    client.subscribe((e) => {
      if (e.type === 'error' && e.id === 0) {
        set({ engineError: e.message, ...(e.code === 'worker-crashed' || e.code === 'device-lost' ? { engineStatus: 'failed' as const } : {}) });
      }
    });
    try {
      const result = await client.init();
      if (result.type === 'ready') set({ engineStatus: 'ready', adapter: result.adapter });
      else set({ engineStatus: 'unavailable', unavailable: { reason: result.reason, message: result.message } });
    } catch (e) {
      set({ engineStatus: 'failed', engineError: (e as Error).message });
    }
  },
});
