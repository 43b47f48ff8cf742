/** The engine and its GPU: starting, ready with an adapter, unavailable (with why), or failed. */
import type { AdapterSummary, UnavailableReason } from '../workers/protocol.ts';
import type { AppState, SliceCreator } from './app-state.ts';
import { engine } from './engine.ts';

export type EngineStatus = 'starting' | 'ready' | 'unavailable' | 'failed';

export interface GpuSlice {
  engineStatus: EngineStatus;
  adapter: AdapterSummary | null;
  unavailable: { reason: UnavailableReason; message: string } | null;
  /** The latest engine-wide problem (worker crash, device lost), shown as a banner. */
  engineError: string | null;
  /** The GPU device was lost: the engine can be restarted on a new one. */
  deviceLost: boolean;
  /** Start the worker and find the GPU; call once at start-up. */
  startEngine(): Promise<void>;
  /** After a lost device: find the GPU again; the model comes back untrained, saved runs can be resumed. */
  restartEngine(): Promise<void>;
}

/** The engine starts with a spectra round every 10 steps: a link (or an earlier choice) may ask for another. */
function tellSpectraEvery(s: AppState): void {
  if (s.spectraEvery !== ENGINE_SPECTRA_EVERY) void s.setSpectraEvery(s.spectraEvery);
}

/** The engine's spectra cadence when nobody has set one. */
const ENGINE_SPECTRA_EVERY = 10;

export const createGpuSlice: SliceCreator<GpuSlice> = (set, get) => ({
  engineStatus: 'starting',
  adapter: null,
  unavailable: null,
  engineError: null,
  deviceLost: false,
  async startEngine() {
    const client = engine();
    client.subscribe((e) => {
      if (e.type === 'error' && e.id === 0) {
        set({ engineError: e.message, ...(e.code === 'worker-crashed' || e.code === 'device-lost' ? { engineStatus: 'failed' as const } : {}) });
        // The fine-tuned weights were on the lost device; the saved checkpoint is what remains.
        if (e.code === 'device-lost') set({ deviceLost: true, tuned: null });
      }
    });
    try {
      const result = await client.init();
      if (result.type === 'ready') {
        set({ engineStatus: 'ready', adapter: result.adapter });
        tellSpectraEvery(get());
      } else set({ engineStatus: 'unavailable', unavailable: { reason: result.reason, message: result.message } });
    } catch (e) {
      set({ engineStatus: 'failed', engineError: (e as Error).message });
    }
  },
  async restartEngine() {
    if (!get().deviceLost) return;
    set({ engineStatus: 'starting', engineError: null });
    try {
      const result = await engine().init();
      if (result.type !== 'ready') {
        set({ engineStatus: 'unavailable', unavailable: { reason: result.reason, message: result.message } });
        return;
      }
      set({ engineStatus: 'ready', adapter: result.adapter, deviceLost: false });
      tellSpectraEvery(get());
      if (result.model) {
        set({ model: result.model });
        void get().refreshData(); // the engine's tokenised data went with the device
      } else {
        await get().loadDefaultModel();
      }
      void get().refreshSavedRuns();
    } catch (e) {
      set({ engineStatus: 'failed', engineError: (e as Error).message });
    }
  },
});
