// Embedding backward  dtable[v, d] += Σ_{r: ids[r] = v} dx[r, d]   (forward out[r] = table[ids[r]]);
// ids ≥ V (zero rows in the forward) contribute nothing.
//   ids: (R) u32, read as ceil(R/4) vec4s (pool buffers are 16-byte multiples; lanes r ≥ R are masked);
//   dx: (R, D); dtable: (V, D), ADDED TO.
// Dispatch: groups1d(V·C, WG), C = ceil(D / DC): invocation (v, c) = v·C + c owns columns
//   [c·DC, min(D, (c + 1)·DC)) of dtable row v. It scans all R ids in order and, for each r with
//   ids[r] = v, adds dx[r, those columns] to its slice. Each dtable element is written by exactly one
//   invocation in a fixed order of r: deterministic, no atomics. Cost: V·C·R/4 vec4 id reads + R·D adds.
//   With per-token row lists at hand, shaders/embedding.bwd.csr.wgsl does the same in R·D.
// Reference: src/reference/llama-grads.ts embeddingBackwardRef.
override WG: u32 = 64u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
struct Params { R: u32, D: u32, V: u32, DC: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dtable: array<f32>;

// dtable[v, d0 .. d1) += dx[r, d0 .. d1)
fn addRow(v: u32, r: u32, d0: u32, d1: u32) {
  for (var d = d0; d < d1; d++) { dtable[v * p.D + d] += dx[r * p.D + d]; }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let C = (p.D + p.DC - 1u) / p.DC;
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.V * C) { return; }
  let v = i / C;
  let d0 = (i - v * C) * p.DC;
  let d1 = min(p.D, d0 + p.DC);
  for (var r0 = 0u; r0 < p.R; r0 += 4u) {
    let hit = (ids[r0 / 4u] == vec4<u32>(v)) & (vec4<u32>(r0, r0 + 1u, r0 + 2u, r0 + 3u) < vec4<u32>(p.R));
    if (!any(hit)) { continue; }
    if (hit.x) { addRow(v, r0, d0, d1); }
    if (hit.y) { addRow(v, r0 + 1u, d0, d1); }
    if (hit.z) { addRow(v, r0 + 2u, d0, d1); }
    if (hit.w) { addRow(v, r0 + 3u, d0, d1); }
  }
}
