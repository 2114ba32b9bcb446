// Element-wise kernels in C, where the compiler vectorises them (and, through target_clones,
// uses AVX2 + FMA on CPUs that have them): the exponential, SiLU, group-norm sums and the affine
// step, softmax columns. Swift's generic SIMD types lowered these to per-lane code.
#ifndef DDIM_CKERNELS_H
#define DDIM_CKERNELS_H

#include <stddef.h>

/// Σ x[i] and Σ (x[i] − mean)², accumulated in float lanes then double.
double ddim_sum(const float *x, ptrdiff_t n);
double ddim_sum_squares(const float *x, ptrdiff_t n, float mean);

/// y[i] = x[i]·scale + shift, or silu of that when `silu` is non-zero.
void ddim_affine(const float *x, float scale, float shift, int silu, float *y, ptrdiff_t n);

/// x[i] = silu(x[i]) = x[i] / (1 + e^(−x[i])), in place.
void ddim_silu(float *x, ptrdiff_t n);

/// y[i] = x[i] + b.
void ddim_add_scalar(const float *x, float b, float *y, ptrdiff_t n);

/// Each of 16 interleaved columns (s[t·16 + l], t < n) replaced by its softmax over t.
void ddim_softmax_columns16(float *s, ptrdiff_t n);

/// e^x with the kernels' approximation (for tests): relative error below 2e-7 on [−87, 88].
float ddim_exp(float x);

/// im2col for output rows [row0, row0 + rows) of a (channels, height, width) image:
/// col[((c·k + i)·k + j)·ld + (oy − row0)·wo + ox] = x[c][oy·stride + i − pad_top][ox·stride + j − pad_left],
/// 0 outside the image. `ld` is the distance between the rows of col (≥ rows·wo).
void ddim_im2col(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width, ptrdiff_t k, ptrdiff_t stride,
                 ptrdiff_t pad_top, ptrdiff_t pad_left, ptrdiff_t row0, ptrdiff_t rows, ptrdiff_t wo, float *col, ptrdiff_t ld);

/// Floats of a weight matrix (M × K) packed for ddim_gemm_packed: M rounded up to 6, times K.
ptrdiff_t ddim_gemm_packed_count(ptrdiff_t m, ptrdiff_t k);
/// Packs the row-major M × K matrix `a` in blocks of 6 rows for ddim_gemm_packed (padded rows 0).
void ddim_gemm_pack_weights(const float *a, ptrdiff_t m, ptrdiff_t k, float *packed);
/// C (M × N, row stride ldc) = A · B + bias (per row; NULL: none), A packed by
/// ddim_gemm_pack_weights, B (K × N, row stride ldb) packed here in panels of 16 columns, on the
/// pool with the GEMM kernel of ddim_kernel_path(). C is written whole, never read. 0, or −1 when
/// a task's panel could not be allocated (out of memory).
int ddim_gemm_packed(const float *packed, ptrdiff_t m, ptrdiff_t k, const float *b, ptrdiff_t n, ptrdiff_t ldb, float *c,
                     ptrdiff_t ldc, const float *bias);
/// ddim_gemm_packed with the kernel of `path` (lowered to one the CPU supports), for tests.
int ddim_gemm_packed_on(int path, const float *packed, ptrdiff_t m, ptrdiff_t k, const float *b, ptrdiff_t n, ptrdiff_t ldb,
                        float *c, ptrdiff_t ldc, const float *bias);
/// `count` products with one A in one parallel loop: C_i = A · B_i + bias + R_i, B_i = b + i·stride_b,
/// C_i = c + i·stride_c, R_i = add + i·stride_add (row stride ld_add; NULL: none). R_i may be C_i
/// itself (C += A·B): each value is read before it is written. 0, or −1 when out of memory.
int ddim_gemm_packed_batch(const float *packed, ptrdiff_t m, ptrdiff_t k, ptrdiff_t count, const float *b, ptrdiff_t n,
                           ptrdiff_t ldb, ptrdiff_t stride_b, float *c, ptrdiff_t ldc, ptrdiff_t stride_c, const float *bias,
                           const float *add, ptrdiff_t ld_add, ptrdiff_t stride_add);
/// ddim_gemm_packed_batch with the kernel of `path` (lowered to one the CPU supports), for tests.
int ddim_gemm_packed_batch_on(int path, const float *packed, ptrdiff_t m, ptrdiff_t k, ptrdiff_t count, const float *b,
                              ptrdiff_t n, ptrdiff_t ldb, ptrdiff_t stride_b, float *c, ptrdiff_t ldc, ptrdiff_t stride_c,
                              const float *bias, const float *add, ptrdiff_t ld_add, ptrdiff_t stride_add);
/// ddim_gemm_packed_batch in bfloat16 (`--precision bf16`): A in bf16 pairs
/// (ddim_gemm_bf16_from_packed), each panel of B rounded to bf16 as it is multiplied, sums in
/// float (AVX-512 BF16). −2 where ddim_bf16_supported() is 0.
int ddim_gemm_packed_batch_bf16(const float *bf16, ptrdiff_t m, ptrdiff_t k, ptrdiff_t count, const float *b, ptrdiff_t n,
                                ptrdiff_t ldb, ptrdiff_t stride_b, float *c, ptrdiff_t ldc, ptrdiff_t stride_c,
                                const float *bias, const float *add, ptrdiff_t ld_add, ptrdiff_t stride_add);
/// Floats' worth of an M × K matrix in bf16 pairs: ⌈M/6⌉ · 6·⌈K/2⌉.
ptrdiff_t ddim_gemm_bf16_count(ptrdiff_t m, ptrdiff_t k);
/// A matrix packed by ddim_gemm_pack_weights → the same in bf16 pairs (nearest, ties to even).
void ddim_gemm_bf16_from_packed(const float *packed, ptrdiff_t m, ptrdiff_t k, float *out);
/// The inverse: the packing of floats holding the bf16 values exactly.
void ddim_gemm_bf16_to_packed(const float *bf16, ptrdiff_t m, ptrdiff_t k, float *packed);
/// The row-major M × K matrix back from its packing by ddim_gemm_pack_weights.
void ddim_gemm_unpack_weights(const float *packed, ptrdiff_t m, ptrdiff_t k, float *a);

// ---------------------------------------------------------------------------------------------
// Which implementation of ddim's own kernels runs (dispatch.c): the Winograd GEMM kernel and
// transforms, the attention core and its softmax. Chosen once per process from CPUID: AVX-512
// where the CPU has F, BW, DQ and VL and the OS saves ZMM state (XGETBV), else AVX2 + FMA, else
// portable C. DDIM_KERNELS=portable|avx2|avx512 asks for one (a path the CPU lacks gives the
// best one below it); DDIM_GENERIC_KERNEL=1, the older switch, is DDIM_KERNELS=portable.

enum { DDIM_KERNELS_PORTABLE = 0, DDIM_KERNELS_AVX2 = 1, DDIM_KERNELS_AVX512 = 2 };
/// Whether this CPU and its OS can run `path` (portable: always).
int ddim_kernel_path_supported(int path);
/// The path forward passes use (read from the CPU and the environment once).
int ddim_kernel_path(void);
/// "portable", "avx2" or "avx512".
const char *ddim_kernel_path_name(int path);

// ---------------------------------------------------------------------------------------------
// ddim's thread pool (pool.c): the caller and N − 1 spinning workers share a loop's tasks.

/// One task of a parallel loop: `index` in [0, count).
typedef void (*ddim_task_fn)(void *ctx, ptrdiff_t index);
/// Threads of the pool, the caller included (default: the CPUs this process may run on). OpenBLAS is set to one
/// thread: every parallel loop and GEMM split goes through the pool.
void ddim_pool_set_threads(int n);
int ddim_pool_threads(void);
/// Runs fn(ctx, i) for i in [0, count) on the pool and returns when all have run. Runs serially
/// when the pool has one thread, from inside a task, or while another thread's loop holds it.
void ddim_parallel_for(ptrdiff_t count, ddim_task_fn fn, void *ctx);
/// C (m × n, row-major) = α·op(A)·op(B) + β·C, split into bands of rows (or columns) of C over
/// the pool, each one single-threaded OpenBLAS sgemm.
void ddim_sgemm(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc);
/// `count` such products of one shape in one parallel loop, the i-th on a + i·stride_a,
/// b + i·stride_b, c + i·stride_c (a stride of 0 shares an operand): each whole when there are
/// enough to share among the threads, else each split into bands.
void ddim_sgemm_batched(ptrdiff_t count, int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                        const float *a, ptrdiff_t lda, ptrdiff_t stride_a, const float *b, ptrdiff_t ldb,
                        ptrdiff_t stride_b, float beta, float *c, ptrdiff_t ldc, ptrdiff_t stride_c);

// ---------------------------------------------------------------------------------------------
// The core of multi-head self-attention (attention.c).

/// O_h = softmax(Q_h·K_hᵀ / √d)·V_h for every image and head, on the pool: qkv holds per image
/// [Qᵀ; Kᵀ; Vᵀ], 3·heads·d rows of n (head h's rows h·d… of each); ot receives per image
/// Oᵀ, heads·d rows of n (head h's rows h·d…), the layout the output projection W_o·Oᵀ reads.
/// Tasks of `rows` query rows (rounded up to 16). Returns 0, or −1 when out of memory.
int ddim_attention(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows, float *ot);
/// The same with the kernels of `path` (tests, A/B runs): a path the CPU lacks gives the best one below it.
int ddim_attention_on(int path, const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d,
                      ptrdiff_t rows, float *ot);
/// The same with the portable C kernel whatever the CPU (tests).
int ddim_attention_portable(const float *qkv, ptrdiff_t batch, ptrdiff_t n, ptrdiff_t heads, ptrdiff_t d, ptrdiff_t rows,
                            float *ot);

// ---------------------------------------------------------------------------------------------
// OpenBLAS's kernel family (blascore.c).

/// The OpenBLAS core this CPU should use when OpenBLAS fell back to pre-AVX2 kernels for a CPU it
/// did not recognise ("SkylakeX" with AVX-512, else "Haswell"); NULL when its choice is fine, the
/// CPU lacks AVX2 + FMA, or OPENBLAS_CORETYPE is already set. DDIM_ASSUME_BLAS_CORE=NAME
/// pretends OpenBLAS chose NAME (for tests).
const char *ddim_blas_better_core(void);
/// When ddim_blas_better_core() names one: re-executes this program (argv as given) with
/// OPENBLAS_CORETYPE set to it, which OpenBLAS reads as it loads. Under a finite RLIMIT_AS also
/// keeps glibc to one malloc arena and re-executes with OPENBLAS_NUM_THREADS=1 (unless already
/// so): OpenBLAS's own threads would hold 128 MB of address space each. Returns when it did
/// nothing or the exec failed. Call first thing in main, before any thread starts.
void ddim_blas_upgrade_core(char *const argv[]);
/// OpenBLAS single-threaded, and the threads it started as it loaded stopped (they spin ~70 ms
/// waiting for work otherwise); once per process, also on the pool's first use.
void ddim_blas_single_threaded(void);
/// Whether RLIMIT_AS (the soft limit) is finite.
int ddim_address_space_limited(void);

// ---------------------------------------------------------------------------------------------
// What the process holds (process.c), for the memory budget.

/// Bytes free inside malloc's arenas (glibc's mallinfo2 fordblks): reusable without mapping more.
size_t ddim_heap_free_bytes(void);
/// The default stack size of a new thread (pthread_getattr_default_np; RLIMIT_STACK's soft
/// limit, or glibc's 8 MB default), bytes; 0 when unknown.
size_t ddim_default_thread_stack(void);
/// Workers of the pool started so far (the calling thread not included).
int ddim_pool_workers_started(void);
/// Starts the pool's workers and has each thread, the caller included, call OpenBLAS at the
/// same time, so that each maps its buffer now (pool.c). Returns how many threads did.
int ddim_blas_warm(void);

// ---------------------------------------------------------------------------------------------
// Whole Winograd convolutions, F(2×2, 3×3) and F(4×4, 3×3), on the pool (winograd_*.c).

/// The packing of the Winograd GEMM's operands: blocks of 6 output channels × panels of 16
/// tiles (the AVX-512 kernel takes up to 4 blocks at once: 24 × 16).
#define DDIM_WG_MR 6
#define DDIM_WG_NR 16
/// Floats of the packed planes of a (cout, cin) kernel for output tiles of `tile` (2 or 4):
/// planes (16 or 36) · ⌈cout/6⌉·6 · cin.
ptrdiff_t ddim_winograd_packed_count(int tile, ptrdiff_t cout, ptrdiff_t cin);
/// Weights g (cout, cin, 3, 3) → the planes U_k = (G g Gᵀ)[k / (tile + 2)][k % (tile + 2)] in blocks
/// of 6 output channels: packed[((k·⌈cout/6⌉ + b)·cin + c)·6 + r] = U_k[6b + r][c], 0 past cout.
/// Runs on the pool, a block of output channels per task.
void ddim_winograd_pack_weights(const float *g, int tile, ptrdiff_t cout, ptrdiff_t cin, float *packed);
/// Whether the bf16 Winograd GEMM runs here: the AVX-512 path in use (AVX-512 F/BW/DQ/VL with ZMM
/// state, DDIM_KERNELS not asking for less) and AVX512_BF16.
int ddim_bf16_supported(void);
/// Pairs of input channels: ⌈kc/2⌉.
ptrdiff_t ddim_bf16_pairs(ptrdiff_t kc);
/// Floats' worth of storage of a (cout, cin) kernel's planes in bf16 pairs: planes · ⌈cout/6⌉ ·
/// 6·⌈cin/2⌉ (half the float planes', rounded up to even channels).
ptrdiff_t ddim_winograd_bf16_count(int tile, ptrdiff_t cout, ptrdiff_t cin);
/// Float planes packed by ddim_winograd_pack_weights → the same in bf16 pairs (rounded to nearest
/// even) for ddim_winograd_conv_bf16: per block of 6 output channels, pair q of input channels,
/// row r: the bf16 of U[6b + r][2q] then of U[6b + r][2q + 1] (0 past cin).
void ddim_winograd_bf16_from_packed(const float *packed, int tile, ptrdiff_t cout, ptrdiff_t cin, float *out);
/// The inverse: float planes (as ddim_winograd_pack_weights lays them out) holding the bf16 values exactly.
void ddim_winograd_bf16_to_packed(const float *bf16, int tile, ptrdiff_t cout, ptrdiff_t cin, float *packed);
/// The inverse: the 3×3 weights g (cout, cin, 3, 3) recovered from packed planes (exactly, up to
/// float rounding: G has a left inverse made of its own rows). On the pool.
void ddim_winograd_unpack_weights(const float *packed, int tile, ptrdiff_t cout, ptrdiff_t cin, float *g);
/// What a convolution adds to each output as it writes it: bias[image·bias_stride + o] (bias may
/// be NULL; bias_stride 0 shares one bias among the images: a time embedding folded in makes it
/// per image) and residual[image][o][y][x] (the output's shape; may be NULL).
typedef struct {
    const float *bias;
    ptrdiff_t bias_stride;
    const float *residual;
} ddim_conv_epilogue;
/// What a convolution applies to each input value before it convolves (a group norm, and the
/// SiLU after it, folded into the input transform instead of a pass of their own):
/// x' = x·scale[image·cin + c] + shift[image·cin + c], then x'·σ(x') when `silu`. The zero
/// padding stays zero (it pads x', as the layers it replaces did).
typedef struct {
    const float *scale, *shift;
    int silu;
} ddim_conv_prologue;
/// y (batch, cout, h, w) = conv3×3(prologue(x) (batch, cin, h, w)), stride 1, padding 1, + the
/// epilogue (either may be NULL), from packed planes for output tiles of `tile` (2: F(2×2, 3×3), 4: F(4×4, 3×3)).
/// Returns 0, or −1 when its scratch could not be allocated.
int ddim_winograd_conv(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *packed_u,
                       int tile, ptrdiff_t cout, const ddim_conv_prologue *pro, const ddim_conv_epilogue *ep, float *y);
/// The same in bfloat16 (`--precision bf16`): planes made by ddim_winograd_bf16_from_packed, each
/// panel of V rounded to bf16 as it is multiplied, products summed in float (AVX-512 BF16); the
/// AVX-512 transforms. Returns −2 where the CPU lacks AVX512_BF16 (ddim_bf16_supported).
int ddim_winograd_conv_bf16(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w, const float *bf16_u,
                            int tile, ptrdiff_t cout, const ddim_conv_prologue *pro, const ddim_conv_epilogue *ep, float *y);
/// The same with the transforms and GEMM kernel of `path` (DDIM_KERNELS_…; a path the CPU lacks
/// gives the best one below it): for tests of each path on any machine, and A/B runs.
int ddim_winograd_conv_on(int path, const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w,
                          const float *packed_u, int tile, ptrdiff_t cout, const ddim_conv_prologue *pro,
                          const ddim_conv_epilogue *ep, float *y);
/// The same with the portable C transforms and micro-kernel whatever the CPU (what runs where
/// AVX2 + FMA are missing, or under DDIM_KERNELS=portable): for tests of that code on any machine.
int ddim_winograd_conv_portable(const float *x, ptrdiff_t batch, ptrdiff_t cin, ptrdiff_t h, ptrdiff_t w,
                                const float *packed_u, int tile, ptrdiff_t cout, const ddim_conv_prologue *pro,
                                const ddim_conv_epilogue *ep, float *y);

#endif
