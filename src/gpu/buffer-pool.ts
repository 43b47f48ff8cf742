/** Storage buffers with byte accounting; released buffers are reused by exact size. */

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

export interface PoolStats {
  liveBytes: number;
  /** The most bytes live at once since the pool was made or resetPeak was called. */
  peakBytes: number;
  cachedBytes: number;
  buffers: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private live = new Set<GPUBuffer>();
  private liveBytes = 0;
  private peakBytes = 0;
  private cachedBytes = 0;

  constructor(private device: GPUDevice) {}

  /** A storage buffer of at least `bytes` (rounded up to 16), labelled `label`. */
  acquire(label: string, bytes: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const reused = this.free.get(size)?.pop();
    let buffer: GPUBuffer;
    if (reused) {
      this.cachedBytes -= size;
      buffer = reused;
      buffer.label = label;
    } else {
      buffer = this.device.createBuffer({ label, size, usage: STORAGE_USAGE });
    }
    this.live.add(buffer);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return buffer;
  }

  /** Return a buffer for reuse. Its contents are not cleared. */
  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return;
    this.liveBytes -= buffer.size;
    this.cachedBytes += buffer.size;
    const list = this.free.get(buffer.size) ?? [];
    list.push(buffer);
    this.free.set(buffer.size, list);
  }

  /** Destroy every cached (released) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.cachedBytes = 0;
  }

  /** Destroy everything, live and cached. */
  destroyAll(): void {
    this.trim();
    for (const b of this.live) b.destroy();
    this.live.clear();
    this.liveBytes = 0;
  }

  /** Start a new peak from what is live now (a run measures its own peak). */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  stats(): PoolStats {
    return { liveBytes: this.liveBytes, peakBytes: this.peakBytes, cachedBytes: this.cachedBytes, buffers: this.live.size };
  }
}
