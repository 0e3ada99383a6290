// Token sampling in one kernel (compiled to PTX by build.rs with the `cuda` feature).
//
// sample_rows   grid: rows; block: 1024. One row of f32 logits per block, with its
//               (temperature, top_p, top_k, uniform) in params[4 * row ..]: the greedy token
//               (first index of the largest logit) when the temperature is 0 or top_k is 1,
//               else a draw from softmax(logits / temperature) cut to the top-k tokens and
//               then to the nucleus holding top_p of what top-k kept, by inverse CDF over the
//               vocabulary in index order at the row's uniform number.
//
// The thresholds are found by radix select on the bit patterns of the weights
// w = exp((l - max) / t), which lie in [0, 1] and so order like their bits: three histogram
// passes of 11, 11 and 10 bits give the exact largest weight τ such that the tokens with
// w >= τ hold at least the target (k tokens; top_p of the mass). The same definition as the
// host-side bisection in sampler.rs, without its hundreds of launches.
//
// Mass is counted in fixed point (2^40 per unit of weight) with 64-bit integer atomics, so
// every sum is exact and a row's token does not depend on the order in which threads add:
// the same logits and uniform give the same token on every run and in every batch.

#include <stdint.h>

#define THREADS 1024
#define WARPS (THREADS / 32)
#define BINS 2048

typedef unsigned long long u64;

__device__ __forceinline__ float weight(float logit, float best, float inv_t) {
  const float w = __expf((logit - best) * inv_t);
  return w >= 0.f ? fminf(w, 1.f) : 0.f;  // NaN and -inf logits weigh nothing
}

__device__ __forceinline__ u64 fixed(float w) { return (u64)(w * 1099511627776.0f); }  // 2^40

// The largest bit pattern τ such that the kept weights (bits >= floor) with bits >= τ measure
// at least the target: `k` tokens when count, else ceil(frac * their total mass).
__device__ __forceinline__ uint32_t radix_select(const float *__restrict__ l, int vocab, float best, float inv_t, uint32_t floor,
                                 bool count, u64 k, double frac, u64 *bins, u64 *shared_u) {
  const int tid = threadIdx.x, lane = tid & 31;
  uint32_t prefix = 0;
  u64 above = 0, target = k;
  int shift = 32;
  for (int round = 0; round < 3; ++round) {
    const int width = round < 2 ? 11 : 10;
    const uint32_t high = round == 0 ? 0u : 0xffffffffu << shift;  // bits fixed so far
    shift -= width;
    for (int b = tid; b < BINS; b += THREADS) bins[b] = 0;
    __syncthreads();
    for (int i = tid; i < vocab; i += THREADS) {
      const float w = weight(l[i], best, inv_t);
      const uint32_t bits = __float_as_uint(w);
      if (bits < floor || (bits & high) != prefix) continue;
      atomicAdd(&bins[(bits >> shift) & ((1u << width) - 1)], count ? 1ull : fixed(w));
    }
    __syncthreads();
    if (tid < 32) {
      // Lane j sums bins [64 j, 64 j + 64) (starting at a different bin in each lane, so
      // the lanes read different shared-memory banks); suffix sums from the top lane down.
      u64 s = 0;
#pragma unroll 8
      for (int b = 0; b < BINS / 32; ++b) s += bins[lane * (BINS / 32) + ((b + lane) & (BINS / 32 - 1))];
      u64 suffix = s;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const u64 v = __shfl_down_sync(0xffffffffu, suffix, o);
        if (lane + o < 32) suffix += v;
      }
      const u64 total = __shfl_sync(0xffffffffu, suffix, 0);
      if (round == 0 && !count) {
        target = (u64)ceil(frac * (double)total);
        if (target < 1) target = 1;
      }
      if (above + total < target) target = above + total;  // never more than there is
      // The highest lane whose suffix reaches the target, then the highest bin in it.
      const unsigned ok = __ballot_sync(0xffffffffu, above + suffix >= target);
      const int top = ok ? 31 - __clz(ok) : 0;
      if (lane == top) {
        u64 run = above + suffix - s;
        int digit = lane * (BINS / 32);
#pragma unroll 1
        for (int b = BINS / 32 - 1; b >= 0; --b) {
          const u64 v = bins[lane * (BINS / 32) + b];
          if (run + v >= target) {
            digit = lane * (BINS / 32) + b;
            break;
          }
          run += v;
        }
        shared_u[0] = digit;
        shared_u[1] = run;
        shared_u[2] = target;
      }
    }
    __syncthreads();
    prefix |= (uint32_t)shared_u[0] << shift;
    above = shared_u[1];
    target = shared_u[2];
    __syncthreads();
  }
  return prefix;
}

extern "C" __global__ void __launch_bounds__(THREADS) sample_rows(const float *__restrict__ logits, const float *__restrict__ params,
                                       uint32_t *__restrict__ out, int vocab) {
  __shared__ u64 bins[BINS];
  __shared__ u64 shared_u[WARPS + 4];
  __shared__ float best_v[WARPS];
  __shared__ int best_i[WARPS];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const float *l = logits + (size_t)blockIdx.x * vocab;
  const float temperature = params[4 * blockIdx.x], top_p = params[4 * blockIdx.x + 1];
  const float top_k = params[4 * blockIdx.x + 2], uniform = params[4 * blockIdx.x + 3];

  // The largest logit and its first index (NaN never wins).
  float best = -INFINITY;
  int arg = 0x7fffffff;
  for (int i = tid; i < vocab; i += THREADS) {
    const float v = l[i];
    if (v > best) best = v, arg = i;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xffffffffu, best, o);
    const int j = __shfl_xor_sync(0xffffffffu, arg, o);
    if (v > best || (v == best && j < arg)) best = v, arg = j;
  }
  if (lane == 0) best_v[warp] = best, best_i[warp] = arg;
  __syncthreads();
  best = best_v[0], arg = best_i[0];
  for (int w = 1; w < WARPS; ++w)
    if (best_v[w] > best || (best_v[w] == best && best_i[w] < arg)) best = best_v[w], arg = best_i[w];
  if (arg == 0x7fffffff) arg = 0;  // no finite logit at all
  if (temperature <= 0.f || top_k == 1.f || best == -INFINITY) {
    if (tid == 0) out[blockIdx.x] = arg;
    return;
  }
  const float inv_t = 1.f / temperature;

  uint32_t floor = 0;
  if (top_k > 0.f && top_k < (float)vocab)
    floor = radix_select(l, vocab, best, inv_t, 0, true, (u64)top_k, 0.0, bins, shared_u);
  if (top_p < 1.f)
    floor = radix_select(l, vocab, best, inv_t, floor, false, 0, fmax(0.0, (double)top_p), bins, shared_u);

  // Inverse CDF: warp `warp` owns the contiguous segment [warp * seg, ...) of the vocabulary.
  const int seg = (vocab + WARPS - 1) / WARPS;
  const int begin = min(vocab, warp * seg), end = min(vocab, begin + seg);
  u64 s = 0;
  for (int i = begin + lane; i < end; i += 32) {
    const float w = weight(l[i], best, inv_t);
    if (__float_as_uint(w) >= floor) s += fixed(w);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (lane == 0) shared_u[warp] = s;
  __syncthreads();
  if (tid == 0) {
    u64 total = 0;
    for (int w = 0; w < WARPS; ++w) total += shared_u[w];
    const double u = fmin(fmax((double)uniform, 0.0), 1.0 - 1e-9);
    const u64 target = (u64)(u * (double)total);
    u64 run = 0;
    int owner = -1;
    for (int w = 0; w < WARPS; ++w) {
      if (owner < 0 && run + shared_u[w] > target) owner = w, shared_u[WARPS + 1] = run;
      run += shared_u[w];
    }
    shared_u[WARPS] = owner;
    shared_u[WARPS + 2] = target;
  }
  __syncthreads();
  const int owner = (int)(long long)shared_u[WARPS];
  if (owner < 0) {  // no mass at all: the greedy token
    if (tid == 0) out[blockIdx.x] = arg;
    return;
  }
  if (warp != owner) return;
  u64 run = shared_u[WARPS + 1];
  const u64 target = shared_u[WARPS + 2];
  for (int base = begin; base < end; base += 32) {
    const int i = base + lane;
    u64 m = 0;
    if (i < end) {
      const float w = weight(l[i], best, inv_t);
      if (__float_as_uint(w) >= floor) m = fixed(w);
    }
    u64 incl = m;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const u64 v = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += v;
    }
    const unsigned hit = __ballot_sync(0xffffffffu, run + incl > target);
    if (hit) {
      if (lane == 0) out[blockIdx.x] = base + __ffs(hit) - 1;
      return;
    }
    run += __shfl_sync(0xffffffffu, incl, 31);
  }
  if (lane == 0) out[blockIdx.x] = arg;  // unreachable while the sums are exact
}
