// Embedding lookup from a 16-bit table  out[r, d] = float32(table[ids[r], d]); ids out of range give a zero row.
//   ids: (R) u32, table: (V, D) BF16 or F16 packed two elements per u32 (element 2i in the low half),
//   out: (R, D) f32. TABLE_F16 picks the decoding: unpack2x16float (F16) or a 16-bit shift (BF16).
// Dispatch: groups1d(R·D, WG) — one invocation per output element; x·y workgroups flattened with num_workgroups.
// Reference: src/reference/llama-ops.ts embeddingRef, on the table decoded to float32.
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms
override TABLE_F16: bool = false;
struct Params { R: u32, D: u32, V: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

/** Element e of the table as float32. */
fn tableAt(e: u32) -> f32 {
  let w = table[e >> 1u];
  if (TABLE_F16) { return unpack2x16float(w)[e & 1u]; }
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (e & 1u) == 1u));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.R * p.D) { return; }
  let r = i / p.D;
  let d = i - r * p.D;
  let id = ids[r];
  var v = 0.0;
  if (id < p.V) { v = tableAt(id * p.D + d); }
  out[i] = v;
}
