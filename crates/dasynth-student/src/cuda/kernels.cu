// The student engine's own CUDA kernels (compiled to PTX by build.rs with the `cuda` feature).
//
// attn_partial_*    decode attention, flash-decoding style: block (split, kv head, sequence)
//                   attends the `group` query heads of one kv head to one contiguous chunk of
//                   the sequence's cached positions with an online softmax, and writes the
//                   unnormalised sum, the running max and the running denominator. A warp
//                   takes one position at a time (32 lanes a position) or, in the `_l16` and
//                   `_l8` variants, two or four at once (16 or 8 lanes a position: fewer
//                   shuffles per dot product, wider loads).
//                   With a counter buffer, the last block of a (sequence, kv head) to finish
//                   merges the chunks itself, so the layer needs no second launch; with one
//                   chunk the block writes the output directly.
// attn_combine_*    merges the chunks of every (sequence, query head) into the output (without
//                   counters: many chunks a sequence, as at batch 1, merge faster spread over
//                   the GPU than in one block).
// add_rms_norm_*    residual add then RMSNorm of each row (one block per row; 16-byte vectors
//                   when the rows allow).
// qk_prep_*         from the fused q/k/v projection: RMSNorm of each q and k head, rotary
//                   embedding, q out, k and v straight into the cache (one block per token and
//                   head); tokens with slot 0xffffffff (padding) write nothing.
// silu_mul_*        silu(gate) * up from the fused gate/up projection.
// gemv_*_m{M}       y = x W^T for M <= 8 rows of x (decode of small batches): one warp per output
//                   column, 16-byte loads of W, several in flight per lane. gemv_nc_* streams
//                   W past L1 (read-only path, no allocation), gemv_pipe_* also issues a lane's
//                   next loads before it uses the current ones.
// causal_softmax_*  softmax of prefill attention scores, each row masked past its query's
//                   position (one block per row).
//
// Lengths are read on the device, so a captured CUDA graph stays valid as sequences grow.
// Caches are [slots, kv_heads, max_len, dim]; queries [batch, heads, dim]; all contiguous.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define SKIP 0xffffffffu

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) { return __float2bfloat16(x); }
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half(x); }

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ __forceinline__ float block_sum(float v, float *scratch) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float t = 0.f;
  for (int w = 0; w < warps; ++w) t += scratch[w];
  return t;
}

__device__ __forceinline__ float block_max(float v, float *scratch) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float t = -INFINITY;
  for (int w = 0; w < warps; ++w) t = fmaxf(t, scratch[w]);
  return t;
}

// grid: rows; block: 256. scores [rows, total]; row r holds query r % n of a chunk starting at
// position start, which sees columns 0..=start + r % n.
template <typename T>
__device__ void causal_softmax(const T *__restrict__ scores, T *__restrict__ out, int n, int start, int total) {
  __shared__ float sh[32];
  const size_t row = blockIdx.x;
  const int limit = min(total, start + (int)(row % n) + 1);
  const T *s = scores + row * total;
  T *o = out + row * total;
  float mx = -INFINITY;
  for (int c = threadIdx.x; c < limit; c += blockDim.x) mx = fmaxf(mx, to_f(s[c]));
  mx = block_max(mx, sh);
  float sum = 0.f;
  for (int c = threadIdx.x; c < limit; c += blockDim.x) sum += expf(to_f(s[c]) - mx);
  const float inv = 1.f / block_sum(sum, sh);
  for (int c = threadIdx.x; c < total; c += blockDim.x) o[c] = from_f<T>(c < limit ? expf(to_f(s[c]) - mx) * inv : 0.f);
}

// Eight elements of T from 16 bytes (T = bf16/f16) or four floats (T = float) as floats.
__device__ __forceinline__ float2 to_f2(__nv_bfloat162 x) { return __bfloat1622float2(x); }
__device__ __forceinline__ float2 to_f2(__half2 x) { return __half22float2(x); }
template <typename T> struct Pair;
template <> struct Pair<__nv_bfloat16> { using type = __nv_bfloat162; };
template <> struct Pair<__half> { using type = __half2; };
// The 16-bit types: four pairs.
template <typename T> struct Vec16 {
  static constexpr int N = 8;
  __device__ __forceinline__ static void load(const T *p, float *out) { unpack(*reinterpret_cast<const uint4 *>(p), out); }
  __device__ __forceinline__ static void unpack(const uint4 v, float *out) {
    const typename Pair<T>::type *h = reinterpret_cast<const typename Pair<T>::type *>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = to_f2(h[i]);
      out[2 * i] = f.x; out[2 * i + 1] = f.y;
    }
  }
};

template <> struct Vec16<float> {
  static constexpr int N = 4;
  __device__ __forceinline__ static void load(const float *p, float *out) { unpack(*reinterpret_cast<const uint4 *>(p), out); }
  __device__ __forceinline__ static void unpack(const uint4 v, float *out) {
    out[0] = __uint_as_float(v.x); out[1] = __uint_as_float(v.y); out[2] = __uint_as_float(v.z); out[3] = __uint_as_float(v.w);
  }
};

// 16 bytes of weights, streamed: through the read-only path and not kept in L1, where they would
// evict the activations every warp of the SM reads again.
__device__ __forceinline__ uint4 load_stream(const void *p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}

// How the GEMV reads its weights: through L1 like any load, streamed past it (load_stream),
// or streamed and double-buffered (a lane's next U loads issued before it uses the current
// ones, so its reads of W never wait on its own arithmetic).
enum WeightLoads { W_PLAIN, W_STREAM, W_PIPE };

// grid: ceil(n / 8); block: 256 (8 warps, one output column each). x [M, k], w [n, k], y [M, n];
// k a multiple of 16 bytes' worth of T, rows 16-byte aligned. Each lane sums its elements in
// increasing order whatever the weight loads, so every variant gives the same bits.
template <typename T, int M, WeightLoads L>
__device__ void gemv(const T *__restrict__ x, const T *__restrict__ w, T *__restrict__ y, int n, int k) {
  constexpr int E = Vec16<T>::N;
  constexpr int U = 4;
  constexpr int STEP = 32 * E * U;
  const int lane = threadIdx.x & 31;
  const int col = blockIdx.x * 8 + (threadIdx.x >> 5);
  if (col >= n) return;  // uniform over the warp; no block-wide sync below
  const T *wr = w + (size_t)col * k;
  float acc[M];
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = 0.f;
  uint4 cur[U], nxt[U];
  auto fetch = [&](uint4 (&dst)[U], int at) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int kk = at + u * 32 * E;
      if (kk < k) dst[u] = L == W_PLAIN ? *reinterpret_cast<const uint4 *>(wr + kk) : load_stream(wr + kk);
    }
  };
  fetch(cur, lane * E);
  for (int k0 = lane * E; k0 < k; k0 += STEP) {
    if (L == W_PIPE && k0 + STEP < k) fetch(nxt, k0 + STEP);
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int kk = k0 + u * 32 * E;
      if (kk >= k) break;
      float wf[E];
      Vec16<T>::unpack(cur[u], wf);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        float xf[E];
        Vec16<T>::load(x + (size_t)m * k + kk, xf);
#pragma unroll
        for (int e = 0; e < E; ++e) acc[m] += wf[e] * xf[e];
      }
    }
    if (L == W_PIPE) {
#pragma unroll
      for (int u = 0; u < U; ++u) cur[u] = nxt[u];
    } else if (k0 + STEP < k) {
      fetch(cur, k0 + STEP);
    }
  }
#pragma unroll
  for (int m = 0; m < M; ++m) {
    float v = acc[m];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) y[(size_t)m * n + col] = from_f<T>(v);
  }
}

// grid: rows; block: 256 threads; shared: n + 32 floats. out_x = x + y (when y is given),
// out_h = rmsnorm(out_x) * w.
template <typename T>
__device__ void add_rms_norm(const T *__restrict__ x, const T *__restrict__ y, const T *__restrict__ w,
                             T *__restrict__ out_x, T *__restrict__ out_h, int n, float eps, int vec) {
  extern __shared__ float sh[];
  float *row = sh + 32;
  const size_t base = (size_t)blockIdx.x * n;
  float ss = 0.f;
  if (vec) {
    // 16 bytes a thread a step: every load of a row in flight at once (a 4096-wide bf16 row is
    // one step of 512 threads), where one element a step waited on memory n / blockDim times.
    constexpr int E = Vec16<T>::N;
    for (int i = threadIdx.x * E; i < n; i += blockDim.x * E) {
      float v[E];
      Vec16<T>::load(x + base + i, v);
      if (y != nullptr) {
        float u[E];
        Vec16<T>::load(y + base + i, u);
        alignas(16) T r[E];
#pragma unroll
        for (int e = 0; e < E; ++e) {
          r[e] = from_f<T>(v[e] + u[e]);
          v[e] = to_f(r[e]);
        }
        *reinterpret_cast<uint4 *>(out_x + base + i) = *reinterpret_cast<const uint4 *>(r);
      }
#pragma unroll
      for (int e = 0; e < E; ++e) {
        row[i + e] = v[e];
        ss += v[e] * v[e];
      }
    }
    const float inv = rsqrtf(block_sum(ss, sh) / n + eps);
    for (int i = threadIdx.x * E; i < n; i += blockDim.x * E) {
      float g[E];
      Vec16<T>::load(w + i, g);
      alignas(16) T r[E];
#pragma unroll
      for (int e = 0; e < E; ++e) r[e] = from_f<T>(row[i + e] * inv * g[e]);
      *reinterpret_cast<uint4 *>(out_h + base + i) = *reinterpret_cast<const uint4 *>(r);
    }
    return;
  }
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    float v = to_f(x[base + i]);
    if (y != nullptr) {
      const T r = from_f<T>(v + to_f(y[base + i]));
      out_x[base + i] = r;
      v = to_f(r);
    }
    row[i] = v;
    ss += v * v;
  }
  const float inv = rsqrtf(block_sum(ss, sh) / n + eps);
  for (int i = threadIdx.x; i < n; i += blockDim.x) out_h[base + i] = from_f<T>(row[i] * inv * to_f(w[i]));
}

// grid: (tokens, heads + kv_heads); block: dim threads. qkv rows are [q heads | k heads | v heads].
template <typename T>
__device__ void qk_prep(const T *__restrict__ qkv, const T *__restrict__ qw, const T *__restrict__ kw,
                        const T *__restrict__ cos, const T *__restrict__ sin, T *__restrict__ q_out, T *__restrict__ kc,
                        T *__restrict__ vc, const uint32_t *__restrict__ slots, const uint32_t *__restrict__ positions,
                        int heads, int kv_heads, int max_len, float eps) {
  __shared__ float sh[32 + 256];
  const int dim = blockDim.x, half = dim / 2;
  const int tok = blockIdx.x, head = blockIdx.y, i = threadIdx.x;
  const bool is_q = head < heads;
  const uint32_t slot = slots[tok];
  if (!is_q && slot == SKIP) return;  // uniform over the block
  const T *row = qkv + (size_t)tok * (heads + 2 * kv_heads) * dim;
  const float v = to_f(row[(size_t)head * dim + i]);
  const float inv = rsqrtf(block_sum(v * v, sh) / dim + eps);
  // Rounded to the dtype between the norm and the rotation, as the unfused ops do.
  const float nv = to_f(from_f<T>(v * inv * to_f(is_q ? qw[i] : kw[i])));
  float *vals = sh + 32;
  vals[i] = nv;
  __syncthreads();
  const float c = to_f(cos[(size_t)tok * half + (i % half)]);
  const float s = to_f(sin[(size_t)tok * half + (i % half)]);
  const float r = i < half ? nv * c - vals[i + half] * s : nv * c + vals[i - half] * s;
  if (is_q) {
    q_out[((size_t)tok * heads + head) * dim + i] = from_f<T>(r);
  } else {
    const int kh = head - heads;
    const size_t dst = (((size_t)slot * kv_heads + kh) * max_len + positions[tok]) * dim + i;
    kc[dst] = from_f<T>(r);
    vc[dst] = row[(size_t)(heads + kv_heads + kh) * dim + i];
  }
}

// grid: ceil(rows * n / 256); block: 256. gu rows are [gate (n) | up (n)].
template <typename T>
__device__ void silu_mul(const T *__restrict__ gu, T *__restrict__ out, int rows, int n) {
  const size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (size_t)rows * n) return;
  const size_t r = e / n, j = e % n;
  const float g = to_f(gu[r * 2 * n + j]);
  const float u = to_f(gu[r * 2 * n + n + j]);
  out[e] = from_f<T>(g / (1.f + __expf(-g)) * u);
}

// LP lanes per cached position, VEC = dim / LP elements per lane, G = query heads per kv head.
// Block: any number of warps (the launch picks 4, 8 or 16), each on 32 / LP positions at once.
// A lane's VEC consecutive elements in one load (8 bytes for 4 bf16), not VEC loads of one
// element: the decode attention loop is bound by how fast it can issue loads of the cache.
template <typename T, int VEC> struct alignas(VEC * sizeof(T)) LaneChunk {
  T v[VEC];
};
template <typename T, int VEC> __device__ __forceinline__ void load_lane(const T *p, float *out) {
  const LaneChunk<T, VEC> c = *reinterpret_cast<const LaneChunk<T, VEC> *>(p);
#pragma unroll
  for (int i = 0; i < VEC; ++i) out[i] = to_f(c.v[i]);
}

template <typename T, int VEC, int G, int LP>
__device__ void attn_partial(const T *__restrict__ q, const T *__restrict__ kc, const T *__restrict__ vc,
                             const uint32_t *__restrict__ slots, const uint32_t *__restrict__ lens,
                             float *__restrict__ acc_out, float *__restrict__ ml_out, uint32_t *__restrict__ counters,
                             T *__restrict__ out, int kv_heads, int max_len, float scale) {
  constexpr int DIM = VEC * LP;
  constexpr int PPW = 32 / LP;  // positions a warp takes at once
  const int split = blockIdx.x, nsplit = gridDim.x, kvh = blockIdx.y, b = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  const int sub = lane / LP, part = lane % LP;  // which of the warp's positions, which slice of it
  const int heads = kv_heads * G;
  const uint32_t slot = slots[b];
  const int len = slot == SKIP ? 0 : (int)lens[b];
  const int chunk = (len + nsplit - 1) / nsplit;
  const int start = split * chunk;
  const int end = min(len, start + chunk);

  float qr[G][VEC];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    const T *qp = q + ((size_t)b * heads + kvh * G + g) * DIM + part * VEC;
#pragma unroll
    for (int i = 0; i < VEC; ++i) qr[g][i] = to_f(qp[i]) * scale;
  }
  float m[G], l[G], acc[G][VEC];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int i = 0; i < VEC; ++i) acc[g][i] = 0.f;
  }
  const size_t base = ((size_t)(slot == SKIP ? 0 : slot) * kv_heads + kvh) * max_len;
  // U position groups per warp and iteration, all loaded before any is used (more bytes in
  // flight per warp: decode attention is bound by reading the cache).
  constexpr int U = LP == 32 ? 4 : 2;
  const int stride = nwarps * PPW;
  for (int p0 = start + warp * PPW; p0 < end; p0 += U * stride) {
    float kf[U][VEC], vf[U][VEC];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int p = p0 + u * stride + sub;
      if (p < end) {
        load_lane<T, VEC>(kc + (base + p) * DIM + part * VEC, kf[u]);
        load_lane<T, VEC>(vc + (base + p) * DIM + part * VEC, vf[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      if (p0 + u * stride >= end) break;  // uniform over the warp
      const bool valid = p0 + u * stride + sub < end;
      float s[G];
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float d = 0.f;
#pragma unroll
        for (int i = 0; i < VEC; ++i) d += qr[g][i] * kf[u][i];
#pragma unroll
        for (int o = LP / 2; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
        s[g] = d;
      }
      if (valid) {
#pragma unroll
        for (int g = 0; g < G; ++g) {
          const float mn = fmaxf(m[g], s[g]);
          const float c = __expf(m[g] - mn);
          const float e = __expf(s[g] - mn);
          l[g] = l[g] * c + e;
#pragma unroll
          for (int i = 0; i < VEC; ++i) acc[g][i] = acc[g][i] * c + e * vf[u][i];
          m[g] = mn;
        }
      }
    }
  }
  // Merge the warp's position groups: lanes `part`, `part + LP`, ... hold one slice each.
#pragma unroll
  for (int o = LP; o < 32; o <<= 1) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      const float om = __shfl_xor_sync(0xffffffffu, m[g], o);
      const float ol = __shfl_xor_sync(0xffffffffu, l[g], o);
      const float mn = fmaxf(m[g], om);
      const float c = mn == -INFINITY ? 0.f : __expf(m[g] - mn);
      const float co = mn == -INFINITY ? 0.f : __expf(om - mn);
      l[g] = l[g] * c + ol * co;
#pragma unroll
      for (int i = 0; i < VEC; ++i) {
        const float oa = __shfl_xor_sync(0xffffffffu, acc[g][i], o);
        acc[g][i] = acc[g][i] * c + oa * co;
      }
      m[g] = mn;
    }
  }

  // Merge the warps: shared [warps][G][DIM + 2].
  extern __shared__ float smem[];
  constexpr int STRIDE = DIM + 2;
#pragma unroll
  for (int g = 0; g < G; ++g) {
    float *w = smem + (warp * G + g) * STRIDE;
    if (sub == 0) {
#pragma unroll
      for (int i = 0; i < VEC; ++i) w[part * VEC + i] = acc[g][i];
    }
    if (lane == 0) {
      w[DIM] = m[g];
      w[DIM + 1] = l[g];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < G * DIM; e += blockDim.x) {
    const int g = e / DIM, i = e % DIM;
    float mx = -INFINITY;
    for (int w = 0; w < nwarps; ++w) mx = fmaxf(mx, smem[(w * G + g) * STRIDE + DIM]);
    float a = 0.f, den = 0.f;
    if (mx != -INFINITY) {
      for (int w = 0; w < nwarps; ++w) {
        const float *ws = smem + (w * G + g) * STRIDE;
        const float f = __expf(ws[DIM] - mx);
        a += ws[i] * f;
        den += ws[DIM + 1] * f;
      }
    }
    const size_t head = (size_t)b * heads + kvh * G + g;
    if (nsplit == 1 && counters != nullptr) {
      out[head * DIM + i] = from_f<T>(den > 0.f ? a / den : 0.f);
      continue;
    }
    acc_out[(head * nsplit + split) * DIM + i] = a;
    if (i == 0) {
      ml_out[(head * nsplit + split) * 2] = mx;
      ml_out[(head * nsplit + split) * 2 + 1] = den;
    }
  }
  if (nsplit == 1 || counters == nullptr) return;  // written above, or attn_combine merges

  // The last of the nsplit blocks of this (sequence, kv head) merges their chunks, as
  // attn_combine does: its stores are made visible before it counts itself, and it reads the
  // others' through L2 (never through this SM's L1). It leaves the counter at zero for the
  // next launch (the next layer, or the next replay of a graph).
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  uint32_t *counter = counters + (size_t)b * kv_heads + kvh;
  if (threadIdx.x == 0) last = atomicAdd(counter, 1u) == (uint32_t)nsplit - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  const size_t head0 = (size_t)b * heads + kvh * G;
  // The chunks' weights exp(m - max) and denominators, [G][nsplit] each, in shared memory.
  float *cw = smem, *cl = smem + nsplit * G;
  for (int e = threadIdx.x; e < nsplit * G; e += blockDim.x) {
    const size_t at = (head0 * nsplit + e) * 2;  // head g's chunk s is row (head0 + g) * nsplit + s = head0 * nsplit + e
    cw[e] = __ldcg(ml_out + at);
    cl[e] = __ldcg(ml_out + at + 1);
  }
  __syncthreads();
  for (int g = threadIdx.x; g < G; g += blockDim.x) {
    float mx = -INFINITY;
    for (int s = 0; s < nsplit; ++s) mx = fmaxf(mx, cw[g * nsplit + s]);
    float den = 0.f;
    for (int s = 0; s < nsplit; ++s) {
      const float f = mx == -INFINITY ? 0.f : __expf(cw[g * nsplit + s] - mx);
      cw[g * nsplit + s] = f;
      den += cl[g * nsplit + s] * f;
    }
    cl[g * nsplit] = den;  // chunk 0's denominator is read above before this write
  }
  __syncthreads();
  for (int e = threadIdx.x; e < G * DIM; e += blockDim.x) {
    const int g = e / DIM, i = e % DIM;
    const float *f = cw + g * nsplit;
    const float *a = acc_out + (head0 + g) * nsplit * DIM + i;
    float sum = 0.f;
#pragma unroll 16
    for (int s = 0; s < nsplit; ++s) sum += __ldcg(a + (size_t)s * DIM) * f[s];
    const float den = cl[g * nsplit];
    out[(head0 + g) * DIM + i] = from_f<T>(den > 0.f ? sum / den : 0.f);
  }
  if (threadIdx.x == 0) *counter = 0;
}

// grid: (heads, batch); block: dim threads.
template <typename T>
__device__ void attn_combine(const float *__restrict__ acc, const float *__restrict__ ml, T *__restrict__ out,
                             int nsplit, int dim) {
  // The chunks' maxima and denominators go to shared memory in one parallel load, their weights
  // are computed once, and each thread's sum over chunks issues its loads back to back (a
  // serial loop over up to 64 chunks waited on memory at every step).
  __shared__ float f[64], l[64];
  const size_t head = (size_t)blockIdx.y * gridDim.x + blockIdx.x;
  const float *mlh = ml + head * nsplit * 2;
  for (int s = threadIdx.x; s < nsplit; s += blockDim.x) {
    f[s] = mlh[2 * s];
    l[s] = mlh[2 * s + 1];
  }
  __syncthreads();
  float mx = -INFINITY;
  for (int s = 0; s < nsplit; ++s) mx = fmaxf(mx, f[s]);
  __syncthreads();
  for (int s = threadIdx.x; s < nsplit; s += blockDim.x) f[s] = mx == -INFINITY ? 0.f : __expf(f[s] - mx);
  __syncthreads();
  float den = 0.f;
  for (int s = 0; s < nsplit; ++s) den += l[s] * f[s];
  const int i = threadIdx.x;
  if (i >= dim) return;
  const float *a = acc + head * nsplit * dim + i;
  float sum = 0.f;
#pragma unroll 8
  for (int s = 0; s < nsplit; ++s) sum += a[(size_t)s * dim] * f[s];
  out[head * dim + i] = from_f<T>(den > 0.f ? sum / den : 0.f);
}

#define ATTN_COMBINE(NAME, T)                                                                                  \
  extern "C" __global__ void attn_combine_##NAME(const float *acc, const float *ml, T *out, int nsplit, int dim) { \
    attn_combine<T>(acc, ml, out, nsplit, dim);                                                                \
  }
// attn_partial_<type>_d<dim / 32>_g<G>[_l<LP>]: 32 lanes a position unless LP is named.
#define ATTN_PARTIAL(NAME, T, D32, G, LP, SUFFIX)                                                              \
  extern "C" __global__ void attn_partial_##NAME##_d##D32##_g##G##SUFFIX(                                      \
      const T *q, const T *kc, const T *vc, const uint32_t *slots, const uint32_t *lens, float *acc_out,       \
      float *ml_out, uint32_t *counters, T *out, int kv_heads, int max_len, float scale) {                     \
    attn_partial<T, D32 * 32 / LP, G, LP>(q, kc, vc, slots, lens, acc_out, ml_out, counters, out, kv_heads,    \
                                          max_len, scale);                                                     \
  }
#define ATTN_PARTIAL_LANES(NAME, T, D32, G) \
  ATTN_PARTIAL(NAME, T, D32, G, 32, )       \
  ATTN_PARTIAL(NAME, T, D32, G, 16, _l16)   \
  ATTN_PARTIAL(NAME, T, D32, G, 8, _l8)
#define ATTN_PARTIAL_ALL_G(NAME, T, D32) \
  ATTN_PARTIAL_LANES(NAME, T, D32, 1)    \
  ATTN_PARTIAL_LANES(NAME, T, D32, 2)    \
  ATTN_PARTIAL_LANES(NAME, T, D32, 4)    \
  ATTN_PARTIAL_LANES(NAME, T, D32, 8)
#define FUSED(NAME, T)                                                                                        \
  extern "C" __global__ void add_rms_norm_##NAME(const T *x, const T *y, const T *w, T *out_x, T *out_h, int n,     \
                                                 float eps, int vec) {                                              \
    add_rms_norm<T>(x, y, w, out_x, out_h, n, eps, vec);                                                            \
  }                                                                                                                 \
  extern "C" __global__ void qk_prep_##NAME(const T *qkv, const T *qw, const T *kw, const T *cos, const T *sin,     \
                                            T *q_out, T *kc, T *vc, const uint32_t *slots, const uint32_t *positions, \
                                            int heads, int kv_heads, int max_len, float eps) {                      \
    qk_prep<T>(qkv, qw, kw, cos, sin, q_out, kc, vc, slots, positions, heads, kv_heads, max_len, eps);              \
  }                                                                                                                 \
  extern "C" __global__ void silu_mul_##NAME(const T *gu, T *out, int rows, int n) { silu_mul<T>(gu, out, rows, n); } \
  extern "C" __global__ void causal_softmax_##NAME(const T *scores, T *out, int n, int start, int total) {          \
    causal_softmax<T>(scores, out, n, start, total);                                                                \
  }
#define GEMV(NAME, T, M)                                                                                 \
  extern "C" __global__ void gemv_##NAME##_m##M(const T *x, const T *w, T *y, int n, int k) {      \
    gemv<T, M, W_PLAIN>(x, w, y, n, k);                                                            \
  }                                                                                                \
  extern "C" __global__ void gemv_nc_##NAME##_m##M(const T *x, const T *w, T *y, int n, int k) {   \
    gemv<T, M, W_STREAM>(x, w, y, n, k);                                                           \
  }                                                                                                \
  extern "C" __global__ void gemv_pipe_##NAME##_m##M(const T *x, const T *w, T *y, int n, int k) { \
    gemv<T, M, W_PIPE>(x, w, y, n, k);                                                             \
  }
#define ALL(NAME, T)              \
  FUSED(NAME, T)                  \
  GEMV(NAME, T, 1)                \
  GEMV(NAME, T, 2)                \
  GEMV(NAME, T, 3)                \
  GEMV(NAME, T, 4)                \
  GEMV(NAME, T, 5)                \
  GEMV(NAME, T, 6)                \
  GEMV(NAME, T, 7)                \
  GEMV(NAME, T, 8)                \
  ATTN_COMBINE(NAME, T)           \
  ATTN_PARTIAL_ALL_G(NAME, T, 1)  \
  ATTN_PARTIAL_ALL_G(NAME, T, 2)  \
  ATTN_PARTIAL_ALL_G(NAME, T, 4)

ALL(f32, float)
ALL(bf16, __nv_bfloat16)
ALL(f16, __half)
