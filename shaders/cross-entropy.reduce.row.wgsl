// Cross-entropy row statistics, barrier-free variant: the number of valid targets, or the mean loss.
//   nValid = #{r : 0 ≤ targets[r] < V}
//   MEAN = false:  loss[0] = f32(nValid)                         (read by cross-entropy*.wgsl as count)
//   MEAN = true:   loss[0] = Σ_{r valid} rowLoss[r] / nValid     (0 when nValid = 0)
//   targets: i32 (R), rowLoss: (R) (not read when MEAN = false), loss: (1).
// Dispatch: (1) workgroup of one invocation walking every row with four accumulators. For adapters
//   where barriers are expensive (SwiftShader); shaders/cross-entropy.reduce.wgsl is the GPU form.
// Reference: src/reference/train-ops.ts crossEntropyRef (nValid, loss).
override MEAN: bool = false;

struct Params { R: u32, V: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(1)
fn main() {
  var n = vec4<u32>(0u);
  var s = vec4<f32>(0.0);
  var r = 0u;
  let V = vec4<i32>(i32(p.V));
  for (; r + 3u < p.R; r += 4u) {
    let t = vec4<i32>(targets[r], targets[r + 1u], targets[r + 2u], targets[r + 3u]);
    let valid = (t >= vec4<i32>(0)) & (t < V);
    n += select(vec4<u32>(0u), vec4<u32>(1u), valid);
    if (MEAN) {
      let l = vec4<f32>(rowLoss[r], rowLoss[r + 1u], rowLoss[r + 2u], rowLoss[r + 3u]);
      s += select(vec4<f32>(0.0), l, valid);
    }
  }
  for (; r < p.R; r++) {
    let t = targets[r];
    if (t >= 0 && u32(t) < p.V) {
      n.x += 1u;
      if (MEAN) { s.x += rowLoss[r]; }
    }
  }
  let total = (n.x + n.y) + (n.z + n.w);
  if (MEAN) {
    loss[0] = select(0.0, ((s.x + s.y) + (s.z + s.w)) / f32(total), total > 0u);
  } else {
    loss[0] = f32(total);
  }
}
