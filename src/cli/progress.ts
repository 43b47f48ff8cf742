/** A one-line progress bar on stderr: step, loss, tokens/s and ETA. */

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class ProgressBar {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastLine = 0;

  /** `from`: the step a resumed run starts after (the ETA counts the steps of this session only). */
  constructor(public total: number, private readonly from = 0) {}

  /** Redraw (TTY) or print a line at most every 2 s (pipes, logs). */
  update(step: number, loss: number, tokensPerS: number, elapsedS: number): void {
    const width = 24;
    const filled = Math.round((step / this.total) * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const done = step - this.from;
    const eta = done > 0 ? (elapsedS / done) * (this.total - step) : Infinity;
    const line = `${bar} step ${step}/${this.total}  loss ${loss.toFixed(4)}  ${Math.round(tokensPerS)} tok/s  ETA ${clock(eta)}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (step === this.total || Date.now() - this.lastLine > 2000) {
      process.stderr.write(`${line}\n`);
      this.lastLine = Date.now();
    }
  }

  done(message: string): void {
    process.stderr.write(`${this.tty ? '\n' : ''}${message}\n`);
  }
}
