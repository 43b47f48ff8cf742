// Cross-entropy row statistics: the number of valid targets, or the mean loss over them.
//   nValid = #{r : 0 ≤ targets[r] < V}
//   MEAN = false:  loss[0] = f32(nValid)                         (read by cross-entropy.wgsl as count)
//   MEAN = true:   loss[0] = Σ_{r valid} rowLoss[r] / nValid     (0 when nValid = 0)
//   targets: i32 (R), rowLoss: (R) (not read when MEAN = false), loss: (1).
// Dispatch: one workgroup of WG invocations; each sums r ≡ lid (mod WG), then a tree reduction.
// Reference: src/reference/train-ops.ts crossEntropyRef (nValid, loss).
override MEAN: bool = false;
override WG: u32 = 256u; // workgroup size; the kernel spec (src/kernels) sets it and derives the dispatch from the uniforms

struct Params { R: u32, V: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

var<workgroup> wn: array<u32, WG>;
var<workgroup> ws: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var n = 0u;
  var s = 0.0;
  for (var r = lid; r < p.R; r += WG) {
    let t = targets[r];
    if (t >= 0 && u32(t) < p.V) {
      n += 1u;
      if (MEAN) { s += rowLoss[r]; }
    }
  }
  wn[lid] = n;
  ws[lid] = s;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      wn[lid] += wn[lid + stride];
      ws[lid] += ws[lid + stride];
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let total = wn[0];
    if (MEAN) {
      loss[0] = select(0.0, ws[0] / f32(total), total > 0u);
    } else {
      loss[0] = f32(total);
    }
  }
}
