/* LayerCanvas's optional compiled kernels: one fused loop where numpy needs several passes.
 *
 * Built at first use by engine/autodiff/jit.py with the machine's C compiler (-O3
 * -march=native -ffp-contract=off: no fused multiply-adds, so the elementwise kernels give
 * numpy's bits) and called through ctypes. Every function exists for float (_f32) and double
 * (_f64); arrays are C-contiguous; sizes are int64. No Python API, no global state.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define LANES 8 /* independent partial sums: vectorisable without reassociating a sum */

#define DEFINE_KERNELS(T, S)                                                                 \
                                                                                             \
void hard_sigmoid_##S(const T *restrict x, T *restrict out, int64_t n) {                                      \
    const T sixth = (T)(1.0 / 6.0), half = (T)0.5, zero = (T)0, one = (T)1;                 \
    for (int64_t i = 0; i < n; i++) {                                                        \
        T h = x[i] * sixth + half;                                                           \
        out[i] = h < zero ? zero : (h > one ? one : h);                                      \
    }                                                                                        \
}                                                                                            \
                                                                                             \
void hard_sigmoid_grad_##S(const T *restrict x, const T *restrict g, T *restrict out, int64_t n) {                     \
    const T sixth = (T)(1.0 / 6.0), zero = (T)0;                                             \
    for (int64_t i = 0; i < n; i++)                                                          \
        out[i] = (x[i] > (T)-3 && x[i] < (T)3) ? g[i] * sixth : g[i] * zero;                 \
}                                                                                            \
                                                                                             \
void hard_silu_##S(const T *restrict x, T *restrict out, int64_t n) {                                         \
    const T sixth = (T)(1.0 / 6.0), half = (T)0.5, zero = (T)0, one = (T)1;                 \
    for (int64_t i = 0; i < n; i++) {                                                        \
        T v = x[i], h = v * sixth + half;                                                    \
        h = h < zero ? zero : (h > one ? one : h);                                           \
        out[i] = h * v;                                                                      \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* numpy's formula: w = clip(x, -3, 3) / 3, d = w + 1/2 - trunc(w) / 2 (NaN stays NaN). */  \
void hard_silu_grad_##S(const T *restrict x, const T *restrict g, T *restrict out, int64_t n) {                        \
    const T three = (T)3, half = (T)0.5, zero = (T)0, one = (T)1;                            \
    for (int64_t i = 0; i < n; i++) {                                                        \
        T v = x[i];                                                                          \
        T d = v <= -three ? zero : (v >= three ? one : v / three + half);                    \
        out[i] = d * g[i];                                                                   \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* numpy's g * (relu_out > 0): g, or g * 0 (-0.0 for a negative g, NaN for an infinite). */ \
void relu_grad_##S(const T *restrict relu_out, const T *restrict g, T *restrict out, int64_t n) {                      \
    const T zero = (T)0;                                                                     \
    for (int64_t i = 0; i < n; i++) out[i] = relu_out[i] > zero ? g[i] : g[i] * zero;        \
}                                                                                            \
                                                                                             \
/* sum of (x - shift) and of its square over the run, in double, LANES partial sums */      \
static void run_sums_##S(const T *restrict x, int64_t m, double shift, double *restrict first,                 \
                         double *restrict second) {                                                   \
    double a[LANES] = {0}, b[LANES] = {0};                                                   \
    int64_t i = 0;                                                                           \
    for (; i + LANES <= m; i += LANES)                                                       \
        for (int l = 0; l < LANES; l++) {                                                    \
            double d = (double)x[i + l] - shift;                                             \
            a[l] += d;                                                                       \
            b[l] += d * d;                                                                   \
        }                                                                                    \
    double sa = 0, sb = 0;                                                                   \
    for (; i < m; i++) {                                                                     \
        double d = (double)x[i] - shift;                                                     \
        sa += d;                                                                             \
        sb += d * d;                                                                         \
    }                                                                                        \
    for (int l = 0; l < LANES; l++) {                                                        \
        sa += a[l];                                                                          \
        sb += b[l];                                                                          \
    }                                                                                        \
    *first += sa;                                                                            \
    *second += sb;                                                                           \
}                                                                                            \
                                                                                             \
/* sums of g and of g * x over the run, in double */                                         \
static void dot_sums_##S(const T *restrict g, const T *restrict x, int64_t m, double *restrict sum_g, double *restrict sum_gx) { \
    double a[LANES] = {0}, b[LANES] = {0};                                                   \
    int64_t i = 0;                                                                           \
    for (; i + LANES <= m; i += LANES)                                                       \
        for (int l = 0; l < LANES; l++) {                                                    \
            double v = (double)g[i + l];                                                     \
            a[l] += v;                                                                       \
            b[l] += v * (double)x[i + l];                                                    \
        }                                                                                    \
    double sa = 0, sb = 0;                                                                   \
    for (; i < m; i++) {                                                                     \
        sa += (double)g[i];                                                                  \
        sb += (double)g[i] * (double)x[i];                                                   \
    }                                                                                        \
    for (int l = 0; l < LANES; l++) {                                                        \
        sa += a[l];                                                                          \
        sb += b[l];                                                                          \
    }                                                                                        \
    *sum_g += sa;                                                                            \
    *sum_gx += sb;                                                                           \
}                                                                                            \
                                                                                             \
/* Batch norm over axis 1 of x (N, C, P): per channel, sums of x - shift[c] and squares. */ \
void bn_channel_sums_##S(const T *restrict x, int64_t n, int64_t c, int64_t p, const double *restrict shift,  \
                         double *restrict first, double *restrict second) {                                    \
    memset(first, 0, c * sizeof(double));                                                    \
    memset(second, 0, c * sizeof(double));                                                   \
    for (int64_t s = 0; s < n; s++)                                                          \
        for (int64_t ch = 0; ch < c; ch++)                                                   \
            run_sums_##S(x + (s * c + ch) * p, p, shift[ch], first + ch, second + ch);       \
}                                                                                            \
                                                                                             \
void bn_normalise_##S(const T *restrict x, int64_t n, int64_t c, int64_t p,                \
                      const T *restrict mean, const T *restrict inv_std,                      \
                      const T *restrict gamma, const T *restrict beta, T *restrict y) {       \
    for (int64_t s = 0; s < n; s++)                                                          \
        for (int64_t ch = 0; ch < c; ch++) {                                                 \
            const T m = mean[ch], k = inv_std[ch], g = gamma[ch], b = beta[ch];              \
            const int64_t o = (s * c + ch) * p;                                              \
            for (int64_t i = 0; i < p; i++) y[o + i] = ((x[o + i] - m) * k) * g + b;         \
        }                                                                                    \
}                                                                                            \
                                                                                             \
/* Per channel: sums of g and of g * x in double (the caller turns the second into the sum   \
   of g * x_hat = inv_std * (sum g x - mean * sum g): x_hat is not kept). */                 \
void bn_gradient_sums_##S(const T *restrict g, const T *restrict x, int64_t n, int64_t c,   \
                          int64_t p, double *restrict sum_g, double *restrict sum_gx) {       \
    memset(sum_g, 0, c * sizeof(double));                                                    \
    memset(sum_gx, 0, c * sizeof(double));                                                   \
    for (int64_t s = 0; s < n; s++)                                                          \
        for (int64_t ch = 0; ch < c; ch++)                                                   \
            dot_sums_##S(g + (s * c + ch) * p, x + (s * c + ch) * p, p, sum_g + ch,          \
                         sum_gx + ch);                                                       \
}                                                                                            \
                                                                                             \
/* dx from x_hat recomputed as the forward pass computed it, (x - mean) * inv_std */         \
void bn_input_gradient_##S(const T *restrict g, const T *restrict x, int64_t n, int64_t c,  \
                           int64_t p, const T *restrict mean, const T *restrict inv_std,      \
                           const T *restrict mean_g, const T *restrict mean_gx,               \
                           const T *restrict scale, T *restrict dx) {                         \
    for (int64_t s = 0; s < n; s++)                                                          \
        for (int64_t ch = 0; ch < c; ch++) {                                                 \
            const T m = mean[ch], k = inv_std[ch];                                           \
            const T mg = mean_g[ch], mgx = mean_gx[ch], sc = scale[ch];                      \
            const int64_t o = (s * c + ch) * p;                                              \
            for (int64_t i = 0; i < p; i++)                                                  \
                dx[o + i] = (g[o + i] - mg - ((x[o + i] - m) * k) * mgx) * sc;               \
        }                                                                                    \
}                                                                                            \
                                                                                             \
/* Group norm of x (N, G, M): per (sample, group) the mean and 1 / sqrt(var + eps). */      \
void gn_statistics_##S(const T *restrict x, int64_t n, int64_t groups, int64_t m, double epsilon,    \
                       double *restrict mean, double *restrict inv) {                                          \
    for (int64_t q = 0; q < n * groups; q++) {                                               \
        double first = 0, second = 0, centre;                                                \
        run_sums_##S(x + q * m, m, 0.0, &first, &second);                                    \
        centre = first / m;                                                                  \
        first = second = 0;                                                                  \
        run_sums_##S(x + q * m, m, centre, &first, &second);                                 \
        mean[q] = centre;                                                                    \
        inv[q] = 1.0 / sqrt(second / m + epsilon);                                           \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* y = (x - mean) * (inv * gamma) + beta on (N, G, P, S); gamma, beta are (G, P). */        \
void gn_affine_##S(const T *restrict x, int64_t n, int64_t groups, int64_t per, int64_t size,        \
                   const double *restrict mean, const double *restrict inv, const T *restrict gamma, const T *restrict beta,     \
                   T *restrict y) {                                                                   \
    for (int64_t s = 0; s < n; s++)                                                          \
        for (int64_t k = 0; k < groups; k++) {                                               \
            const T m = (T)mean[s * groups + k];                                             \
            for (int64_t cc = 0; cc < per; cc++) {                                           \
                const T scale = (T)(inv[s * groups + k] * (double)gamma[k * per + cc]);      \
                const T shift = beta[k * per + cc];                                          \
                const int64_t o = ((s * groups + k) * per + cc) * size;                      \
                for (int64_t i = 0; i < size; i++) y[o + i] = (x[o + i] - m) * scale + shift; \
            }                                                                                \
        }                                                                                    \
}                                                                                            \
                                                                                             \
/* per (sample, channel) of (N, C, S): sums of g and of g * x, in double */                 \
void gn_channel_sums_##S(const T *restrict g, const T *restrict x, int64_t rows, int64_t size, double *restrict sum_g, \
                         double *restrict sum_gx) {                                                   \
    for (int64_t r = 0; r < rows; r++) {                                                     \
        sum_g[r] = sum_gx[r] = 0;                                                            \
        dot_sums_##S(g + r * size, x + r * size, size, sum_g + r, sum_gx + r);               \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* dx = g * k1[s, k, cc] + x * k2[s, k] + k3[s, k] on (N, G, P, S) */                        \
void gn_input_gradient_##S(const T *restrict g, const T *restrict x, int64_t n, int64_t groups, int64_t per,  \
                           int64_t size, const double *restrict k1, const double *restrict k2,                 \
                           const double *restrict k3, T *restrict dx) {                                        \
    for (int64_t s = 0; s < n; s++)                                                          \
        for (int64_t k = 0; k < groups; k++) {                                               \
            const T b = (T)k2[s * groups + k], c3 = (T)k3[s * groups + k];                   \
            for (int64_t cc = 0; cc < per; cc++) {                                           \
                const T a = (T)k1[(s * groups + k) * per + cc];                              \
                const int64_t o = ((s * groups + k) * per + cc) * size;                      \
                for (int64_t i = 0; i < size; i++) dx[o + i] = g[o + i] * a + x[o + i] * b + c3; \
            }                                                                                \
        }                                                                                    \
}

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)

/* -- float32 kernels with an exponential ----------------------------------------------------
 *
 * libm's expf is a call per value, which stops the loop from being vectorised (numpy's own
 * exp is SIMD): these loops use exp_f32, Cephes's expf written so that gcc vectorises it
 * (no call, no table, no branch). x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r
 * is exact), e^r by Cephes's degree-6 polynomial, 2^n by building the exponent bits; relative
 * error <= 2 ulp. x is clamped to [-87, 89] first: at the top n = 128 builds infinity's
 * exponent, so e^x overflows to inf from x = 88.38 (a little early: float32 holds e^x up
 * to 88.72), and 1 / (1 + inf) gives a sigmoid's exact 0 in the tail as numpy's does; at the
 * bottom the result stays normal (e^-87 = 1.6e-38; smaller values would need a subnormal
 * scale), which 1 + e^x rounds away. NaN passes both compares and stays NaN. float32 only:
 * float64 runs the numpy formulas (the gradient checks).
 *
 * The polynomials use explicit fused multiply-adds (fmaf, one instruction with -march=native;
 * the file's -ffp-contract=off keeps the other kernels free of them): these loops are
 * latency-bound, and a Horner chain of FMAs has half the latency (a GELU training step on
 * one core: 3.7 -> 2.4 ms).
 */
static inline float exp_f32(float x) {
    x = x > 89.0f ? 89.0f : (x < -87.0f ? -87.0f : x);
    /* adding 1.5 * 2^23 rounds x / ln2 to an integer n, which sits in the low mantissa bits */
    const float t = x * 1.44269504088896341f + 12582912.0f;
    const float n = t - 12582912.0f;
    int32_t bits;
    memcpy(&bits, &t, sizeof bits);
    const float r = fmaf(n, 2.12194440e-4f, fmaf(n, -0.693359375f, x));
    float p = fmaf(1.9875691500e-4f, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p * r, r, r + 1.0f);
    const int32_t scale_bits = (bits - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

static inline float sigmoid_f32(float x) { return 1.0f / (1.0f + exp_f32(-x)); }

/* silu: x * sigmoid(x). The backward recomputes sigmoid(x) (one exp costs less than keeping
 * an activation-sized array): g * s * (1 + x (1 - s)), in numpy's order. */
void silu_f32(const float *restrict x, float *restrict out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * sigmoid_f32(x[i]);
}

void silu_grad_f32(const float *restrict x, const float *restrict g, float *restrict out,
                   int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float s = sigmoid_f32(x[i]);
        out[i] = ((1.0f - s) * x[i] + 1.0f) * s * g[i];
    }
}

/* Exact GELU x Phi(x) with kernels_activation.py's fit Phi(x) = (1 + tanh(u P(u^2))) / 2,
 * u = clip(x, -6, 6), written as sigmoid(2 u P(u^2)) (the same function, one exp). The
 * coefficients come from Python (PHI, 7 values, lowest degree first). */
static inline float gelu_cdf_f32(float v, const float *restrict phi, float *u_out) {
    const float u = v < -6.0f ? -6.0f : (v > 6.0f ? 6.0f : v);
    const float s = u * u;
    float p = fmaf(s, phi[6], phi[5]);
    for (int k = 4; k >= 0; k--) p = fmaf(p, s, phi[k]);
    *u_out = u;
    /* below -6 numpy's tanh rounds to -1 and Phi to exactly 0 (gelu -> -0, no residue of
     * x times a tiny Phi); the sigmoid form would keep e^-23.6 there */
    return v < -6.0f ? 0.0f : sigmoid_f32(2.0f * p * u);
}

void gelu_f32(const float *restrict x, const float *restrict phi, float *restrict out,
              int64_t n) {
    float c[7];
    memcpy(c, phi, sizeof c);
    for (int64_t i = 0; i < n; i++) {
        float u;
        out[i] = x[i] * gelu_cdf_f32(x[i], c, &u);
    }
}

/* g * (Phi(x) + u phi(u)): as the numpy path, u phi(u) stands for x phi(x) (they differ
 * only beyond |x| = 6, by less than 4e-8). */
void gelu_grad_f32(const float *restrict x, const float *restrict g, const float *restrict phi,
                   float *restrict out, int64_t n) {
    float c[7];
    memcpy(c, phi, sizeof c);
    const float inv_sqrt_2pi = 0.398942280401432678f;
    for (int64_t i = 0; i < n; i++) {
        float u;
        const float cdf = gelu_cdf_f32(x[i], c, &u);
        out[i] = fmaf(exp_f32(-0.5f * u * u) * u, inv_sqrt_2pi, cdf) * g[i];
    }
}
