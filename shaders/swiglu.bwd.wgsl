// SwiGLU backward. Forward out = silu(g)·u = g·σ(g)·u (shaders/swiglu.wgsl). With σ' = σ(1 − σ):
//   dup[i]   = dout[i] · g·σ(g)
//   dgate[i] = dout[i] · u · σ(g)·(1 + g·(1 − σ(g)))
//   gate, up, dout, dgate, dup: (N) — any shape, same number of elements. dgate and dup are overwritten.
//   Stable for large |g|: only e = exp(−|g|) is taken (never overflows), and σ(g), 1 − σ(g) are each
//   formed as a quotient (1 or e)/(1 + e), so 1 − σ has no cancellation; for g → ±∞ the factor
//   g·(1 − σ) or σ goes to 0 before it can multiply an infinity.
// Dispatch: groups1d(N, WG) — one invocation per element; x·y workgroups flattened with num_workgroups.
// Reference: src/reference/llama-grads.ts swigluBackwardRef.
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { N: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let g = gate[i];
  let go = dout[i];
  let e = exp(-abs(g));
  let pos = g >= 0.0;
  let sig = select(e, 1.0, pos) / (1.0 + e);     // σ(g)
  let sigNeg = select(1.0, e, pos) / (1.0 + e);  // 1 − σ(g) = σ(−g)
  dup[i] = go * (g * sig);
  dgate[i] = go * up[i] * (sig * (1.0 + g * sigNeg));
}
