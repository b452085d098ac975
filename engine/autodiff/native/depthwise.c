/* Depthwise 2-D convolution, one input plane at a time (engine/autodiff/jit_depthwise.py).
 *
 * x (N, C, H, W) and kernel (C, M, KH, KW) give out (N, C * M, HO, WO): output channel
 * c * M + m comes from input channel c and filter m. Each (sample, channel) plane is copied
 * into a zero-padded buffer of HP x WP (a 28x28 plane is 3.6 KB: it stays in L1 while all
 * its taps read it). Every function takes a channel range [c0, c1), so that Python can hand
 * ranges to threads: the ranges write disjoint parts of the outputs.
 *
 * The padded plane is stored as its SH * SW stride phases (phase (a, b) holds padded rows
 * a, a + SH, ... and columns b, b + SW, ...; at unit strides the one phase is the padded
 * plane), each ROWS x COLS with ROWS = HO + (KH - 1) * DH / SH, COLS = WO + (KW - 1) * DW /
 * SW. Output (oh, ow) sits at oh * COLS + ow of a (HO, COLS) grid, and tap (i, j) reads its
 * phase at that index plus a fixed shift, so each tap is ONE unit-stride multiply-add over
 * the whole plane ((HO - 1) * COLS + WO values; the columns past each row's end are
 * computed and dropped). Rows of 28 would leave most of each row to the vector loop's
 * scalar tail, and strided loads cost permutes. The kernel gradient sums lane by lane
 * (LANES partial sums, vectorised without reassociating) and adds the lanes up in double.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
/* explicit fused multiply-adds (one instruction with -march=native; the build's
 * -ffp-contract=off keeps them out of everything else): half the tap loops' arithmetic */
#define FMA_f32 fmaf
#define FMA_f64 fma

typedef struct {
    int64_t n, c, h, w, m, kh, kw, sh, sw, dh, dw, top, left, ho, wo;
} dw_shape;

/* Unit-stride loops with every tap summed in registers, one store per output: for a given
 * tap count NT (9: 3x3, 25: 5x5) the tap loop unrolls and the position loop vectorises,
 * where the per-tap passes load and store the accumulator nine times. */
#define DEFINE_FUSED(T, S, NT)                                                               \
static void fused_set_##S##_##NT(T *restrict dst, const T *restrict src,                     \
                                 const int64_t *restrict offsets, const T *restrict kernel,  \
                                 T init, int64_t len) {                                      \
    int64_t o[NT];                                                                           \
    T k[NT];                                                                                 \
    for (int t = 0; t < NT; t++) o[t] = offsets[t], k[t] = kernel[t];                        \
    for (int64_t p = 0; p < len; p++) {                                                      \
        T acc = init;                                                                        \
        _Pragma("GCC unroll 32") for (int t = 0; t < NT; t++) acc = FMA_##S(k[t], src[p + o[t]], acc); \
        dst[p] = acc;                                                                        \
    }                                                                                        \
}                                                                                            \
                                                                                             \
static void fused_add_##S##_##NT(T *restrict dst, const T *restrict src,                     \
                                 const int64_t *restrict offsets, const T *restrict kernel,  \
                                 int64_t len) {                                              \
    int64_t o[NT];                                                                           \
    T k[NT];                                                                                 \
    for (int t = 0; t < NT; t++) o[t] = offsets[t], k[t] = kernel[t];                        \
    for (int64_t p = 0; p < len; p++) {                                                      \
        T acc = dst[p];                                                                      \
        _Pragma("GCC unroll 32") for (int t = 0; t < NT; t++) acc = FMA_##S(k[t], src[p + o[t]], acc); \
        dst[p] = acc;                                                                        \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* lanes[t][q] += a[p] * b[p + offsets[t]] for p = q (mod LANES), p < len (whole blocks).  \
 * GCC's vector type keeps the NT accumulators in registers (arrays of them went through   \
 * memory: 6.7 against 0.8 ms); memcpy is the unaligned load. */                             \
static void fused_dots_##S##_##NT(T *restrict lanes, const T *restrict a, const T *restrict b, \
                                  const int64_t *restrict offsets, int64_t len) {            \
    typedef T block __attribute__((vector_size(LANES * sizeof(T))));                         \
    int64_t o[NT];                                                                           \
    block acc[NT];                                                                           \
    for (int t = 0; t < NT; t++) {                                                           \
        o[t] = offsets[t];                                                                   \
        memcpy(&acc[t], lanes + t * LANES, sizeof(block));                                   \
    }                                                                                        \
    for (int64_t p = 0; p + LANES <= len; p += LANES) {                                      \
        block av;                                                                            \
        memcpy(&av, a + p, sizeof av);                                                       \
        _Pragma("GCC unroll 32") for (int t = 0; t < NT; t++) {                              \
            block bv;                                                                        \
            memcpy(&bv, b + p + o[t], sizeof bv);                                            \
            acc[t] += av * bv;                                                               \
        }                                                                                    \
    }                                                                                        \
    for (int t = 0; t < NT; t++) memcpy(lanes + t * LANES, &acc[t], sizeof(block));          \
}

DEFINE_FUSED(float, f32, 9)
DEFINE_FUSED(float, f32, 25)
DEFINE_FUSED(double, f64, 9)
DEFINE_FUSED(double, f64, 25)


/* Kernels up to 15 x 15 (the offsets live on the stack); jit_depthwise.py sends larger ones
 * to the numpy path. */
#define MAX_TAPS 225

typedef struct {
    dw_shape shape;
    int64_t rows, cols, plane, phases, span, taps, reach;
    int64_t shifts[MAX_TAPS];  /* tap t's shift within its phase */
    int64_t offsets[MAX_TAPS]; /* tap t's phase * plane + shift: where it reads the phases */
} dw_geometry;

static int dw_plan(const int64_t *raw, dw_geometry *g) {
    memcpy(&g->shape, raw, sizeof g->shape);
    const dw_shape *s = &g->shape;
    g->taps = s->kh * s->kw;
    if (g->taps > MAX_TAPS) return 0;
    g->rows = s->ho + (s->kh - 1) * s->dh / s->sh;
    g->cols = s->wo + (s->kw - 1) * s->dw / s->sw;
    g->plane = g->rows * g->cols;
    g->phases = s->sh * s->sw;
    g->span = (s->ho - 1) * g->cols + s->wo;
    g->reach = 0;
    for (int64_t t = 0; t < g->taps; t++) {
        const int64_t i = t / s->kw * s->dh, j = t % s->kw * s->dw;
        g->shifts[t] = i / s->sh * g->cols + j / s->sw;
        g->offsets[t] = ((i % s->sh) * s->sw + j % s->sw) * g->plane + g->shifts[t];
        if (g->shifts[t] > g->reach) g->reach = g->shifts[t];
    }
    return 1;
}

#define DEFINE_DEPTHWISE(T, S)                                                               \
                                                                                             \
static inline void madd_##S(T *restrict dst, const T *restrict src, T k, int64_t len) {      \
    for (int64_t i = 0; i < len; i++) dst[i] = FMA_##S(k, src[i], dst[i]);                   \
}                                                                                            \
                                                                                             \
/* lanes[q] += sum of a[i] * b[i] over i = q (mod LANES) */                                  \
static inline void dot_lanes_##S(T *restrict lanes, const T *restrict a, const T *restrict b, \
                                 int64_t len) {                                              \
    int64_t i = 0;                                                                           \
    for (; i + LANES <= len; i += LANES)                                                     \
        for (int q = 0; q < LANES; q++) lanes[q] += a[i + q] * b[i + q];                     \
    for (int q = 0; i < len; i++, q++) lanes[q] += a[i] * b[i];                              \
}                                                                                            \
                                                                                             \
/* the fused loops exist for 9 and 25 taps; other counts take one pass per tap */           \
static int fused_taps_##S(int64_t taps) { return taps == 9 || taps == 25; }                 \
                                                                                             \
static void set_taps_##S(T *dst, const T *src, const int64_t *o, const T *k, T init,        \
                         int64_t taps, int64_t len) {                                        \
    if (taps == 9) fused_set_##S##_9(dst, src, o, k, init, len);                             \
    else fused_set_##S##_25(dst, src, o, k, init, len);                                      \
}                                                                                            \
                                                                                             \
static void add_taps_##S(T *dst, const T *src, const int64_t *o, const T *k, int64_t taps,  \
                         int64_t len) {                                                      \
    if (taps == 9) fused_add_##S##_9(dst, src, o, k, len);                                   \
    else fused_add_##S##_25(dst, src, o, k, len);                                            \
}                                                                                            \
                                                                                             \
static void dot_taps_##S(T *lanes, const T *a, const T *b, const int64_t *o, int64_t taps,  \
                         int64_t len) {                                                      \
    if (taps == 9) fused_dots_##S##_9(lanes, a, b, o, len);                                  \
    else fused_dots_##S##_25(lanes, a, b, o, len);                                           \
}                                                                                            \
                                                                                             \
/* one plane of x into its zero-padded stride phases (buf: SH * SW planes of ROWS x COLS) */ \
static void to_phases_##S(const T *restrict plane, const dw_geometry *g, T *restrict buf) {  \
    const dw_shape *s = &g->shape;                                                           \
    memset(buf, 0, (size_t)(g->phases * g->plane) * sizeof(T));                              \
    for (int64_t r = 0; r < s->h; r++) {                                                     \
        const int64_t pr = r + s->top, row = pr / s->sh;                                     \
        if (row >= g->rows) break;                                                           \
        T *dst = buf + (pr % s->sh) * s->sw * g->plane + row * g->cols;                      \
        const T *src = plane + r * s->w;                                                     \
        if (s->sw == 1) {                                                                    \
            const int64_t n = s->w < g->cols - s->left ? s->w : g->cols - s->left;           \
            if (n > 0) memcpy(dst + s->left, src, (size_t)n * sizeof(T));                    \
        } else {                                                                             \
            int64_t b = s->left % s->sw, col = s->left / s->sw; /* stepped, no division */   \
            for (int64_t c = 0; c < s->w && col < g->cols; c++) {                            \
                dst[b * g->plane + col] = src[c];                                            \
                if (++b == s->sw) b = 0, col++;                                              \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* the phases' gradient back onto one plane of dx (pixels no tap reads get 0) */            \
static void from_phases_##S(const T *restrict buf, const dw_geometry *g, T *restrict plane) { \
    const dw_shape *s = &g->shape;                                                           \
    for (int64_t r = 0; r < s->h; r++) {                                                     \
        const int64_t pr = r + s->top, row = pr / s->sh;                                     \
        T *dst = plane + r * s->w;                                                           \
        if (row >= g->rows) {                                                                \
            memset(dst, 0, (size_t)s->w * sizeof(T));                                        \
            continue;                                                                        \
        }                                                                                    \
        const T *src = buf + (pr % s->sh) * s->sw * g->plane + row * g->cols;                \
        if (s->sw == 1) {                                                                    \
            int64_t n = s->w < g->cols - s->left ? s->w : g->cols - s->left;                 \
            n = n < 0 ? 0 : n;                                                               \
            memcpy(dst, src + s->left, (size_t)n * sizeof(T));                               \
            memset(dst + n, 0, (size_t)(s->w - n) * sizeof(T));                              \
            continue;                                                                        \
        }                                                                                    \
        /* phase and column of pixel c, stepped along (no division per pixel) */             \
        int64_t b = s->left % s->sw, col = s->left / s->sw;                                  \
        for (int64_t c = 0; c < s->w; c++) {                                                 \
            dst[c] = col < g->cols ? src[b * g->plane + col] : (T)0;                         \
            if (++b == s->sw) b = 0, col++;                                                  \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* g of one output plane onto the (HO, COLS) grid, zeros in the dropped columns */          \
static void widen_##S(const T *restrict g, const dw_geometry *geo, T *restrict grid) {       \
    const int64_t ho = geo->shape.ho, wo = geo->shape.wo, cols = geo->cols;                  \
    for (int64_t oh = 0; oh < ho; oh++) {                                                    \
        memcpy(grid + oh * cols, g + oh * wo, (size_t)wo * sizeof(T));                       \
        memset(grid + oh * cols + wo, 0, (size_t)(cols - wo) * sizeof(T));                   \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* out = bias + sum over taps of kernel * x, then max(0, .) when relu. Returns 0 when its    \
 * buffers could not be allocated. */                                                        \
int64_t dw_forward_##S(const T *restrict x, const T *restrict kernel, const T *restrict bias, \
                       const int64_t *restrict shape, int64_t relu, int64_t c0, int64_t c1,  \
                       T *restrict out) {                                                    \
    dw_geometry geo;                                                                         \
    if (!dw_plan(shape, &geo)) return 0;                                                     \
    const dw_shape *s = &geo.shape;                                                          \
    const int64_t M = s->m, HO = s->ho, WO = s->wo, taps = geo.taps, span = geo.span;        \
    T *buf = malloc((size_t)(geo.phases * geo.plane) * sizeof(T));                           \
    T *grid = malloc((size_t)(HO * geo.cols) * sizeof(T));                                   \
    if (!buf || !grid) {                                                                     \
        free(buf);                                                                           \
        free(grid);                                                                          \
        return 0;                                                                            \
    }                                                                                        \
    for (int64_t ci = c0; ci < c1; ci++)                                                     \
        for (int64_t n = 0; n < s->n; n++) {                                                 \
            to_phases_##S(x + (n * s->c + ci) * s->h * s->w, &geo, buf);                    \
            for (int64_t mi = 0; mi < M; mi++) {                                             \
                const T *k = kernel + (ci * M + mi) * taps;                                  \
                const T b = bias[ci * M + mi];                                               \
                T *o = out + ((n * s->c + ci) * M + mi) * HO * WO;                           \
                if (fused_taps_##S(taps)) {                                                  \
                    set_taps_##S(grid, buf, geo.offsets, k, b, taps, span);                  \
                } else {                                                                     \
                    for (int64_t p = 0; p < span; p++) grid[p] = b;                          \
                    for (int64_t t = 0; t < taps; t++)                                       \
                        madd_##S(grid, buf + geo.offsets[t], k[t], span);                    \
                }                                                                            \
                for (int64_t oh = 0; oh < HO; oh++)                                          \
                    memcpy(o + oh * WO, grid + oh * geo.cols, (size_t)WO * sizeof(T));       \
                if (relu)                                                                    \
                    for (int64_t p = 0; p < HO * WO; p++) o[p] = o[p] > (T)0 ? o[p] : (T)0;  \
            }                                                                                \
        }                                                                                    \
    free(buf);                                                                               \
    free(grid);                                                                              \
    return 1;                                                                                \
}                                                                                            \
                                                                                             \
/* dx: the phases' gradient, gathered rather than scattered: phase position q takes         \
 * kernel[t] * g at q - shift(t) from `wide`, a copy of g's grid with zeros on both sides,  \
 * so every tap's pass writes the same aligned run (scattering each tap onto shifted runs   \
 * made loads wait on overlapping stores: 1.5 against 0.9 ms). */                           \
int64_t dw_input_grad_##S(const T *restrict g, const T *restrict kernel,                     \
                          const int64_t *restrict shape, int64_t c0, int64_t c1,             \
                          T *restrict dx) {                                                  \
    dw_geometry geo;                                                                         \
    if (!dw_plan(shape, &geo)) return 0;                                                     \
    const dw_shape *s = &geo.shape;                                                          \
    const int64_t M = s->m, HO = s->ho, WO = s->wo, taps = geo.taps, plane = geo.plane;      \
    const int fused = geo.phases == 1 && fused_taps_##S(taps);                               \
    T *buf = malloc((size_t)(geo.phases * plane) * sizeof(T));                               \
    T *wide = malloc((size_t)(geo.reach + plane) * sizeof(T));                               \
    if (!buf || !wide) {                                                                     \
        free(buf);                                                                           \
        free(wide);                                                                          \
        return 0;                                                                            \
    }                                                                                        \
    int64_t gathers[MAX_TAPS]; /* where tap t's g lies in `wide` for phase position 0 */     \
    for (int64_t t = 0; t < taps; t++) gathers[t] = geo.reach - geo.shifts[t];               \
    memset(wide, 0, (size_t)(geo.reach + plane) * sizeof(T));                                \
    for (int64_t ci = c0; ci < c1; ci++)                                                     \
        for (int64_t n = 0; n < s->n; n++) {                                                 \
            if (!fused) memset(buf, 0, (size_t)(geo.phases * plane) * sizeof(T));            \
            for (int64_t mi = 0; mi < M; mi++) {                                             \
                const T *k = kernel + (ci * M + mi) * taps;                                  \
                widen_##S(g + ((n * s->c + ci) * M + mi) * HO * WO, &geo, wide + geo.reach); \
                if (fused && mi == 0) /* the first filter sets the plane: no zeroing */      \
                    set_taps_##S(buf, wide, gathers, k, (T)0, taps, plane);                  \
                else if (fused)                                                              \
                    add_taps_##S(buf, wide, gathers, k, taps, plane);                        \
                else                                                                         \
                    for (int64_t t = 0; t < taps; t++)                                       \
                        madd_##S(buf + geo.offsets[t] - geo.shifts[t], wide + gathers[t],    \
                                 k[t], plane);                                               \
            }                                                                                \
            from_phases_##S(buf, &geo, dx + (n * s->c + ci) * s->h * s->w);                 \
        }                                                                                    \
    free(buf);                                                                               \
    free(wide);                                                                              \
    return 1;                                                                                \
}                                                                                            \
                                                                                             \
/* dkernel[c, m, i, j] = sum over samples and positions of g * the tap's input */           \
int64_t dw_kernel_grad_##S(const T *restrict g, const T *restrict x,                         \
                           const int64_t *restrict shape, int64_t c0, int64_t c1,            \
                           T *restrict dkernel) {                                            \
    dw_geometry geo;                                                                         \
    if (!dw_plan(shape, &geo)) return 0;                                                     \
    const dw_shape *s = &geo.shape;                                                          \
    const int64_t M = s->m, HO = s->ho, WO = s->wo, taps = geo.taps, span = geo.span;        \
    const int64_t whole = span / LANES * LANES;                                              \
    T *buf = malloc((size_t)(geo.phases * geo.plane) * sizeof(T));                           \
    T *grid = malloc((size_t)(HO * geo.cols) * sizeof(T));                                   \
    T *lanes = malloc((size_t)(M * taps * LANES) * sizeof(T));                               \
    if (!buf || !grid || !lanes) {                                                           \
        free(buf);                                                                           \
        free(grid);                                                                          \
        free(lanes);                                                                         \
        return 0;                                                                            \
    }                                                                                        \
    for (int64_t ci = c0; ci < c1; ci++) {                                                   \
        memset(lanes, 0, (size_t)(M * taps * LANES) * sizeof(T));                            \
        for (int64_t n = 0; n < s->n; n++) {                                                 \
            to_phases_##S(x + (n * s->c + ci) * s->h * s->w, &geo, buf);                    \
            for (int64_t mi = 0; mi < M; mi++) {                                             \
                T *l = lanes + mi * taps * LANES;                                            \
                widen_##S(g + ((n * s->c + ci) * M + mi) * HO * WO, &geo, grid);             \
                if (fused_taps_##S(taps))                                                    \
                    dot_taps_##S(l, grid, buf, geo.offsets, taps, whole);                    \
                else                                                                         \
                    for (int64_t t = 0; t < taps; t++)                                       \
                        dot_lanes_##S(l + t * LANES, grid, buf + geo.offsets[t], whole);     \
                for (int64_t t = 0; t < taps; t++) /* the last partial block */              \
                    dot_lanes_##S(l + t * LANES, grid + whole, buf + whole + geo.offsets[t], \
                                  span - whole);                                             \
            }                                                                                \
        }                                                                                    \
        for (int64_t q = 0; q < M * taps; q++) {                                             \
            double total = 0;                                                                \
            for (int lane = 0; lane < LANES; lane++) total += lanes[q * LANES + lane];       \
            dkernel[ci * M * taps + q] = (T)total;                                           \
        }                                                                                    \
    }                                                                                        \
    free(buf);                                                                               \
    free(grid);                                                                              \
    free(lanes);                                                                             \
    return 1;                                                                                \
}

DEFINE_DEPTHWISE(float, f32)
DEFINE_DEPTHWISE(double, f64)
