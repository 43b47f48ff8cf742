/** Choosing the next token from logits: greedy, temperature, nucleus (top-p), with a seeded generator. */

/** xorshift64* as in llama2.c run.c: a uniform float in [0, 1) from a 64-bit state. */
export class Rng {
  private state: bigint;
  constructor(seed: number) {
    this.state = BigInt.asUintN(64, BigInt(Math.floor(seed)) || 0x2545f4914f6cdd1dn);
  }
  nextU32(): number {
    let s = this.state;
    s ^= s >> 12n;
    s ^= BigInt.asUintN(64, s << 25n);
    s ^= s >> 27n;
    this.state = s;
    return Number(BigInt.asUintN(64, s * 0x2545f4914f6cdd1dn) >> 32n);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Softmax of logits / temperature, in float64. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const p = new Float64Array(logits.length);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] / temperature);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] / temperature - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/**
 * Next token: argmax when temperature is 0, else a draw from the softmax at `temperature`
 * restricted to the smallest set of most likely tokens whose probability reaches `topP`.
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topP: number, rng: Rng): number {
  if (temperature <= 0) return argmax(logits);
  const p = softmax(logits, temperature);
  const r = rng.next();
  if (!(topP > 0 && topP < 1)) {
    let cdf = 0;
    for (let i = 0; i < p.length; i++) if ((cdf += p[i]) > r) return i;
    return p.length - 1;
  }
  const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < order.length && mass < topP) mass += p[order[kept++]];
  let cdf = 0;
  for (let j = 0; j < kept; j++) if ((cdf += p[order[j]]) > r * mass) return order[j];
  return order[kept - 1];
}
