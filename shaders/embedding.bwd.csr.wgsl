// Embedding backward from per-token row lists  dtable[v, d] += Σ_{n = offsets[v]}^{offsets[v+1]−1} dx[rows[n], d]
// — the same sums as shaders/embedding.bwd.wgsl when rows[offsets[v] ..] lists, in increasing order,
// the r with ids[r] = v (src/kernels/embedding.ts embeddingRowLists builds them on the CPU).
//   offsets: (V + 1) u32; rows: (≥ offsets[V]) u32; dx: (R, D); dtable: (V, D), ADDED TO.
// Dispatch: groups1d(V·C, WG), C = ceil(D / DC): invocation (v, c) = v·C + c owns columns
//   [c·DC, min(D, (c + 1)·DC)) of dtable row v and adds its rows in list order: deterministic, no
//   atomics, bit-identical to the scan kernel. Cost: R·D adds + V·C list reads, independent of V·R.
// Reference: src/reference/llama-grads.ts embeddingBackwardRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { D: u32, V: u32, DC: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read> dx: array<f32>;
@group(0) @binding(4) var<storage, read_write> dtable: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let C = (p.D + p.DC - 1u) / p.DC;
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.V * C) { return; }
  let v = i / C;
  let d0 = (i - v * C) * p.DC;
  let d1 = min(p.D, d0 + p.DC);
  let end = offsets[v + 1u];
  for (var n = offsets[v]; n < end; n++) {
    let src = rows[n] * p.D;
    for (var d = d0; d < d1; d++) { dtable[v * p.D + d] += dx[src + d]; }
  }
}
