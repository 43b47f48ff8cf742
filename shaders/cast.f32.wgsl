// Decode a 16-bit tensor to float32  out[i] = float32(x[i]), exactly (every BF16 and F16 value is an f32).
//   x: (n) BF16 or F16 packed two elements per u32 (element 2i in the low half); out: (n) f32.
//   X_F16 picks the decoding: unpack2x16float (F16) or a 16-bit shift (BF16).
// Dispatch: groups1d(ceil(n / 2), WG) — one invocation per u32 (two elements); x·y flattened with num_workgroups.
// Reference: src/gpu/half.ts bf16ToF32, f16ToF32.
override WG: u32 = 256u;
override X_F16: bool = false;
struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  let e = 2u * w;
  if (e >= p.n) { return; }
  let bits = x[w];
  var pair: vec2<f32>;
  if (X_F16) { pair = unpack2x16float(bits); }
  else { pair = bitcast<vec2<f32>>(vec2<u32>(bits << 16u, bits & 0xffff0000u)); }
  out[e] = pair.x;
  if (e + 1u < p.n) { out[e + 1u] = pair.y; }
}
