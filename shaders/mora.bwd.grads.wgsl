// MoRA backward, step 2: two independent products of dz in one dispatch (split by workgroup z):
//   z = 0:  dM (r̂, r̂) += dzᵀ·u,  dM[k, m] += Σ_R dz[R, k]·u[R, m]   (reduction over the rows·nU chunks R)
//   z = 1:  du (rows·nU, r̂) = dz·M,  du[R, m] = Σ_k dz[R, k]·M[k, m]
//   Derivation: the forward computes z[R, k] = Σ_m M[k, m]·u[R, m] for every chunk R, so
//   ∂L/∂M[k, m] = Σ_R dz[R, k]·u[R, m] and ∂L/∂u[R, m] = Σ_k dz[R, k]·M[k, m].
//   dz, u (rows·nU, r̂) from mora.bwd.fold.wgsl and mora.compress.wgsl; du feeds mora.bwd.dx.wgsl.
// Each invocation computes a 4×4 block of its output with a plain loop: deterministic, no atomics,
// no workgroup memory, no integer division in the loops. Small 4×4 workgroups: dM has only
// (r̂/4)² invocations with a long loop, and SwiftShader runs each workgroup on one thread, so
// 8×8 groups left most of dM to one or two threads.
// Dispatch: (ceil(r̂ / (4·WGX)), ceil(max(r̂, rows·nU) / (4·WGY)), 2) from the uniforms; workgroup WGX×WGY (4×4),
//   each invocation a 4×4 block.
// Reference: src/reference/mora.ts moraBackwardRef (dM, du).
override WGX: u32 = 4u; // workgroup size; the kernel spec (src/kernels/mora.ts) sets it
override WGY: u32 = 4u; //   and derives the dispatch from the uniforms
struct Params { chunks: u32, rHat: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dz: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> dM: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;

fn quad(i0: u32, limit: u32) -> vec4<u32> {
  // Indices past the edge are clamped: computed, never stored.
  return vec4<u32>(i0, min(i0 + 1u, limit - 1u), min(i0 + 2u, limit - 1u), min(i0 + 3u, limit - 1u));
}

// The loops keep their accumulators in functions that index them by constants only (registers).

/** dM[ki[a], mi[b]] partial sums over all chunks. */
fn blockDM(ki: vec4<u32>, mi: vec4<u32>) -> array<vec4<f32>, 4> {
  let n = p.rHat;
  var acc: array<vec4<f32>, 4>;
  for (var R = 0u; R < p.chunks; R++) {
    let o = R * n;
    let ur = vec4<f32>(u[o + mi.x], u[o + mi.y], u[o + mi.z], u[o + mi.w]);
    acc[0] += dz[o + ki.x] * ur;
    acc[1] += dz[o + ki.y] * ur;
    acc[2] += dz[o + ki.z] * ur;
    acc[3] += dz[o + ki.w] * ur;
  }
  return acc;
}

/** du[ri[a], mi[b]]. */
fn blockDU(ri: vec4<u32>, mi: vec4<u32>) -> array<vec4<f32>, 4> {
  let n = p.rHat;
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < n; k++) {
    let o = k * n;
    let mk = vec4<f32>(M[o + mi.x], M[o + mi.y], M[o + mi.z], M[o + mi.w]);
    acc[0] += dz[ri.x * n + k] * mk;
    acc[1] += dz[ri.y * n + k] * mk;
    acc[2] += dz[ri.z * n + k] * mk;
    acc[3] += dz[ri.w * n + k] * mk;
  }
  return acc;
}

fn addDM(k: u32, m0: u32, v: vec4<f32>) {
  let n = p.rHat;
  if (k >= n) { return; }
  for (var b = 0u; b < 4u; b++) {
    if (m0 + b < n) { dM[k * n + m0 + b] += v[b]; }
  }
}

fn storeDU(R: u32, m0: u32, v: vec4<f32>) {
  let n = p.rHat;
  if (R >= p.chunks) { return; }
  for (var b = 0u; b < 4u; b++) {
    if (m0 + b < n) { du[R * n + m0 + b] = v[b]; }
  }
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = p.rHat;
  let m0 = gid.x * 4u; // columns (m) of dM or du
  let a0 = gid.y * 4u; // rows: k of dM, or chunk R of du
  if (m0 >= n) { return; }
  let mi = quad(m0, n);
  if (gid.z == 0u) {
    if (a0 >= n) { return; }
    let acc = blockDM(quad(a0, n), mi);
    addDM(a0, m0, acc[0]);
    addDM(a0 + 1u, m0, acc[1]);
    addDM(a0 + 2u, m0, acc[2]);
    addDM(a0 + 3u, m0, acc[3]);
    return;
  }
  if (a0 >= p.chunks) { return; }
  let acc = blockDU(quad(a0, p.chunks), mi);
  storeDU(a0, m0, acc[0]);
  storeDU(a0 + 1u, m0, acc[1]);
  storeDU(a0 + 2u, m0, acc[2]);
  storeDU(a0 + 3u, m0, acc[3]);
}
