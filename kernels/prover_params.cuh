// Structures passed by value to the device-resident proving kernels (quotient.cu, pow.cu,
// fri.cu, opening.cu, logup.cu). Each has a #[repr(C)] twin in the Rust module that launches it
// (crates/cuda/src/quotient.rs, pow.rs, fri.rs, opening.rs, logup.rs); those modules' tests assert the same sizes and offsets and read
// this header to check that the numbers here agree.
//
// Device pointers are carried as uint64_t (the Rust side holds CUdeviceptr = u64).
#pragma once

#include <cstddef>
#include <cstdint>

namespace slotproof {

// Opcodes of a device constraint program (instruction = 4 words: op, dst, a, b). 0..18 are the
// prover's `OpCode` values (crates/prover/src/program.rs); the two accumulate opcodes are added
// by the host when it lowers a program for the device (crates/cuda/src/quotient.rs).
enum QuotientOp : uint32_t {
    Q_LOAD_MAIN = 0,
    Q_LOAD_PUBLIC = 1,
    Q_LOAD_CONST = 2,
    Q_LOAD_IS_FIRST_ROW = 3,
    Q_LOAD_IS_LAST_ROW = 4,
    Q_LOAD_IS_TRANSITION = 5,
    Q_ADD = 6,
    Q_SUB = 7,
    Q_MUL = 8,
    Q_NEG = 9,
    Q_EXT_LOAD_PERMUTATION = 10,
    Q_EXT_LOAD_CHALLENGE = 11,
    Q_EXT_LOAD_PERMUTATION_VALUE = 12,
    Q_EXT_LOAD_CONST = 13,
    Q_EXT_FROM_BASE = 14,
    Q_EXT_ADD = 15,
    Q_EXT_SUB = 16,
    Q_EXT_MUL = 17,
    Q_EXT_NEG = 18,
    // acc += weights[b] * base[a]
    Q_ACC_BASE = 19,
    // acc += weights[b] * ext[a]
    Q_ACC_EXT = 20,
};

// Quotient values on a quotient domain of 2^log_quotient rows (shift * <g_quotient>) for a trace
// domain of 2^log_trace rows (<h>). Row i (natural order) reads row bitrev(i) of the main and
// permutation matrices, which are bit-reversed coset LDEs with the same shift and at least
// 2^log_quotient rows (a committed LDE qualifies as it is: its first 2^log_quotient rows are the
// bit-reversed sub-coset). The result is written in natural order as 4 coefficient columns:
// out[k * 2^log_quotient + i] = coefficient k of q(x_i).
struct QuotientParams {
    uint64_t program;          // const uint32_t*, 4 words per instruction
    uint64_t main;             // const uint32_t*, column-major
    uint64_t main_stride;      // words between main columns
    uint64_t perm;             // const uint32_t*, column-major, 4 base columns per ext column; 0 if none
    uint64_t perm_stride;
    uint64_t base_consts;      // const uint32_t*
    uint64_t ext_consts;       // const uint32_t*, 4 words each
    uint64_t public_values;    // const uint32_t*
    uint64_t challenges;       // const uint32_t*, 4 words each
    uint64_t perm_values;      // const uint32_t*, 4 words each
    uint64_t weights;          // const uint32_t*, 4 words per accumulate slot
    uint64_t zh;               // const uint32_t*, Z_H(x_i) then 1/Z_H(x_i) for i < 2^(log_q - log_n)
    uint64_t scratch;          // uint32_t*, (num_base_regs + 4 * num_ext_regs) * num_threads
    uint64_t out;              // uint32_t*, 4 * 2^log_quotient
    uint32_t num_instructions;
    uint32_t log_quotient;
    uint32_t log_trace;
    uint32_t num_base_regs;
    uint32_t num_ext_regs;
    uint32_t num_threads;      // threads of the launch = scratch stride
    uint32_t shift;            // Montgomery word of the coset shift
    uint32_t g_quotient;       // Montgomery word of the generator of the order-2^log_quotient subgroup
    uint32_t h_inv;            // Montgomery word of h^-1 (h generates the trace domain)
    uint32_t _pad;
};
static_assert(sizeof(QuotientParams) == 152, "QuotientParams size");
static_assert(alignof(QuotientParams) == 8, "QuotientParams align");
static_assert(offsetof(QuotientParams, program) == 0, "QuotientParams.program");
static_assert(offsetof(QuotientParams, perm) == 24, "QuotientParams.perm");
static_assert(offsetof(QuotientParams, weights) == 80, "QuotientParams.weights");
static_assert(offsetof(QuotientParams, out) == 104, "QuotientParams.out");
static_assert(offsetof(QuotientParams, num_instructions) == 112, "QuotientParams.num_instructions");
static_assert(offsetof(QuotientParams, num_threads) == 132, "QuotientParams.num_threads");
static_assert(offsetof(QuotientParams, h_inv) == 144, "QuotientParams.h_inv");

// Split a quotient (4 coefficient columns of 2^log_quotient natural-order values) into
// num_chunks = 2^log_chunks chunk matrices as p3's split_evals does: chunk t holds rows
// t, t + num_chunks, ... . Output chunk t is a column-major 2^(log_quotient-log_chunks) x 4 matrix
// at out + t * 4 * 2^(log_quotient-log_chunks).
struct QuotientSplitParams {
    uint64_t quotient;  // const uint32_t*
    uint64_t out;       // uint32_t*
    uint32_t log_quotient;
    uint32_t log_chunks;
};
static_assert(sizeof(QuotientSplitParams) == 24, "QuotientSplitParams size");
static_assert(offsetof(QuotientSplitParams, log_chunks) == 20, "QuotientSplitParams.log_chunks");

// Proof-of-work search: the smallest w in [start, end) such that permuting `state` with
// state[witness_slot] = w (as a field element) leaves an element in the last rate slot (7) whose
// canonical value has its low `bits` bits zero. *result is atomically lowered to each witness
// found (it must hold 0xFFFFFFFF before the first launch).
struct PowParams {
    uint32_t state[16];   // Montgomery words; the witness slot is overwritten
    uint64_t result;      // uint32_t*
    uint32_t start;
    uint32_t end;
    uint32_t witness_slot;
    uint32_t bits;
};
static_assert(sizeof(PowParams) == 88, "PowParams size");
static_assert(alignof(PowParams) == 8, "PowParams align");
static_assert(offsetof(PowParams, result) == 64, "PowParams.result");
static_assert(offsetof(PowParams, witness_slot) == 80, "PowParams.witness_slot");
static_assert(offsetof(PowParams, bits) == 84, "PowParams.bits");

// One arity-2 FRI fold of a codeword of 2n extension elements in bit-reversed order (4 words each,
// interleaved): out[i] = (lo + hi)/2 + (lo - hi) * beta * g_inv^bitrev(i) / 2 with lo = in[2i],
// hi = in[2i+1], g the generator of the order-2n subgroup. When roll_in is non-zero,
// out[i] += roll_beta * roll_in[i] afterwards (a shorter input reduced codeword joining FRI).
struct FriFoldParams {
    uint64_t input;    // const uint32_t*, 2n elements
    uint64_t out;      // uint32_t*, n elements
    uint64_t roll_in;  // const uint32_t* or 0, n elements
    uint32_t beta[4];
    uint32_t roll_beta[4];
    uint32_t log_n;    // log2 of the output length
    uint32_t g_inv;    // Montgomery word of the inverse generator of the order-2n subgroup
};
static_assert(sizeof(FriFoldParams) == 64, "FriFoldParams size");
static_assert(alignof(FriFoldParams) == 8, "FriFoldParams align");
static_assert(offsetof(FriFoldParams, roll_in) == 16, "FriFoldParams.roll_in");
static_assert(offsetof(FriFoldParams, beta) == 24, "FriFoldParams.beta");
static_assert(offsetof(FriFoldParams, roll_beta) == 40, "FriFoldParams.roll_beta");
static_assert(offsetof(FriFoldParams, log_n) == 56, "FriFoldParams.log_n");
static_assert(offsetof(FriFoldParams, g_inv) == 60, "FriFoldParams.g_inv");

// The leaf matrix of a FRI commit round: a codeword of n extension elements (interleaved) viewed
// as n / arity rows of `arity` elements, flattened to 4 * arity base columns, column-major:
// out[c * (n / arity) + r] = coefficient (c % 4) of element arity * r + c / 4.
struct FriLeavesParams {
    uint64_t codeword;  // const uint32_t*
    uint64_t out;       // uint32_t*
    uint32_t log_n;
    uint32_t log_arity;
};
static_assert(sizeof(FriLeavesParams) == 24, "FriLeavesParams size");
static_assert(offsetof(FriLeavesParams, log_arity) == 20, "FriLeavesParams.log_arity");

// Barycentric weights of an opening at z on the coset g<w> of order h = 2^log_h, bit-reversed:
// out[i] = scale * x_i / (z - x_i), x_i = shift * omega^bitrev(i), scale = Z(z) / (h g^h) (host).
struct OpeningWeightsParams {
    uint64_t out;      // uint32_t*, h extension elements (4 words each)
    uint32_t z[4];
    uint32_t scale[4];
    uint32_t log_h;
    uint32_t shift;    // Montgomery word of the coset shift g
    uint32_t omega;    // Montgomery word of the generator of the order-h subgroup
    uint32_t _pad;
};
static_assert(sizeof(OpeningWeightsParams) == 56, "OpeningWeightsParams size");
static_assert(offsetof(OpeningWeightsParams, z) == 8, "OpeningWeightsParams.z");
static_assert(offsetof(OpeningWeightsParams, scale) == 24, "OpeningWeightsParams.scale");
static_assert(offsetof(OpeningWeightsParams, log_h) == 40, "OpeningWeightsParams.log_h");
static_assert(offsetof(OpeningWeightsParams, omega) == 48, "OpeningWeightsParams.omega");

// out[c] = sum_{i < h} weights[i] * matrix[c * col_stride + i]: one block per column.
struct OpeningDotParams {
    uint64_t matrix;   // const uint32_t*, column-major
    uint64_t col_stride;
    uint64_t weights;  // const uint32_t*, h extension elements
    uint64_t out;      // uint32_t*, width extension elements
    uint32_t h;
    uint32_t width;
};
// opening_dot's block: its shared-memory tree reduction halves a power of two down to 1, so the
// host launches exactly this many threads (crates/cuda/src/launch.rs, OPENING_DOT_THREADS).
constexpr uint32_t OPENING_DOT_THREADS = 256;
static_assert((OPENING_DOT_THREADS & (OPENING_DOT_THREADS - 1)) == 0 && OPENING_DOT_THREADS <= 1024,
              "opening_dot's reduction needs a power-of-two block");
static_assert(sizeof(OpeningDotParams) == 40, "OpeningDotParams size");
static_assert(offsetof(OpeningDotParams, h) == 32, "OpeningDotParams.h");

// One (matrix, point) term of the alpha-reduction over a matrix of 2^log_height rows:
// acc[x] += offset * (claim - sum_j alpha_powers[j] * matrix[j][x]) / (z - x_x), with
// x_x = shift * omega^bitrev(x) (omega of order 2^log_height).
struct OpeningReduceParams {
    uint64_t matrix;        // const uint32_t*, column-major
    uint64_t col_stride;
    uint64_t alpha_powers;  // const uint32_t*, width extension elements
    uint64_t acc;           // uint32_t*, 2^log_height extension elements, updated in place
    uint32_t z[4];
    uint32_t claim[4];
    uint32_t offset[4];
    uint32_t log_height;
    uint32_t width;
    uint32_t shift;
    uint32_t omega;
};
static_assert(sizeof(OpeningReduceParams) == 96, "OpeningReduceParams size");
static_assert(offsetof(OpeningReduceParams, z) == 32, "OpeningReduceParams.z");
static_assert(offsetof(OpeningReduceParams, offset) == 64, "OpeningReduceParams.offset");
static_assert(offsetof(OpeningReduceParams, log_height) == 80, "OpeningReduceParams.log_height");
static_assert(offsetof(OpeningReduceParams, omega) == 92, "OpeningReduceParams.omega");

// ---- LogUp trace (logup.cu, crates/cuda/src/logup.rs) ----

// The lowered expression program of a LogUp kernel uses the base-field opcodes above (0..9) and
// this one, which the host's lowering emits right after each expression's defining instruction
// (it has the number of Q_ACC_BASE: the same lowering, read differently): value[b] = base[a].
constexpr uint32_t LOGUP_STORE_VALUE = 19;

// How a lookup turns its tuples into one fraction per row (p3-lookup's additive and exclusive
// columns).
enum LogUpKind : uint32_t {
    LOGUP_ADDITIVE = 0,   // sum_j m_j / (alpha - combine_j)
    LOGUP_EXCLUSIVE = 1,  // (sum_j f_j m_j) / (sum_j f_j (alpha - combine_j) + 1 - sum_j f_j)
};

// Why a row has no LogUp fraction (Plonky3's LogUpGadget panics on these witnesses). Reported as
// the smallest key (row << 32) | (lookup << 4) | code over all threads (atomicMin).
enum LogUpFailure : uint32_t {
    LOGUP_ZERO_DENOMINATOR = 1,
    LOGUP_NON_BOOLEAN_FLAG = 2,
    LOGUP_FLAGS_ABOVE_ONE = 3,
};

// The fraction columns and per-row totals of a LogUp trace of `height` rows (the trace domain,
// natural order). Per row, the expression program computes every element, multiplicity and flag
// into the row's value slots; then the layout table is walked, lookup by lookup:
//   [kind, num_tuples, then per tuple: multiplicity slot, flag slot (exclusive only, else
//    0xFFFFFFFF), width k, k element slots]
// Challenges: per lookup `challenge_stride` words: alpha, then beta^0, beta^1, ... (4 words each).
// Output: fraction of lookup l at row r -> out[(4(l+1) + c) * height + r] (the flattened LogUp
// trace, columns 0..3 are the accumulator, written by logup_accumulator); the row's sum of
// fractions -> totals[4r + c].
struct LogUpParams {
    uint64_t program;          // const uint32_t*, 4 words per instruction
    uint64_t main;             // const uint32_t*, column-major trace (natural row order)
    uint64_t main_stride;      // words between main columns
    uint64_t base_consts;      // const uint32_t*
    uint64_t public_values;    // const uint32_t*
    uint64_t layout;           // const uint32_t*
    uint64_t challenges;       // const uint32_t*
    uint64_t scratch;          // uint32_t*, (num_base_regs + num_values) * num_threads, [slot][thread]
    uint64_t out;              // uint32_t*, 4 * (num_lookups + 1) * height
    uint64_t totals;           // uint32_t*, 4 * height
    uint64_t status;           // unsigned long long*, ULLONG_MAX before the launch
    uint32_t num_instructions;
    uint32_t height;
    uint32_t num_lookups;
    uint32_t num_base_regs;
    uint32_t num_values;
    uint32_t num_threads;      // threads of the launch = scratch stride
    uint32_t challenge_stride;
    uint32_t _pad;
};
static_assert(sizeof(LogUpParams) == 120, "LogUpParams size");
static_assert(alignof(LogUpParams) == 8, "LogUpParams align");
static_assert(offsetof(LogUpParams, layout) == 40, "LogUpParams.layout");
static_assert(offsetof(LogUpParams, status) == 80, "LogUpParams.status");
static_assert(offsetof(LogUpParams, num_instructions) == 88, "LogUpParams.num_instructions");
static_assert(offsetof(LogUpParams, num_threads) == 108, "LogUpParams.num_threads");
static_assert(offsetof(LogUpParams, challenge_stride) == 112, "LogUpParams.challenge_stride");

// Inclusive prefix sums of extension elements (4 words each, interleaved), in place, in blocks of
// LOGUP_SCAN_THREADS threads x LOGUP_SCAN_ITEMS consecutive elements. logup_scan_block scans each
// block and (when block_sums != 0) writes its total to block_sums[block]; the host scans the
// block sums the same way and logup_scan_add adds block_sums[b - 1] to every element of block b.
constexpr uint32_t LOGUP_SCAN_THREADS = 256;
constexpr uint32_t LOGUP_SCAN_ITEMS = 4;
constexpr uint32_t LOGUP_SCAN_BLOCK = LOGUP_SCAN_THREADS * LOGUP_SCAN_ITEMS;
// scan_block: whole warps, and warp 0 scans the warp totals (one per lane).
static_assert(LOGUP_SCAN_THREADS % 32 == 0 && LOGUP_SCAN_THREADS / 32 <= 32,
              "logup_scan_block needs whole warps, at most 32 of them");
struct LogUpScanParams {
    uint64_t data;        // uint32_t*, n elements
    uint64_t block_sums;  // uint32_t*, one element per block; 0: none (scan of one block)
    uint32_t n;
    uint32_t _pad;
};
static_assert(sizeof(LogUpScanParams) == 24, "LogUpScanParams size");
static_assert(offsetof(LogUpScanParams, n) == 16, "LogUpScanParams.n");

// The accumulator column (exclusive prefix sums of the row totals) and the terminal:
// out[c * height + r] = r == 0 ? 0 : totals[4(r - 1) + c], terminal[c] = totals[4(height - 1) + c].
struct LogUpAccumulatorParams {
    uint64_t totals;    // const uint32_t*, inclusive prefix sums, 4 * height
    uint64_t out;       // uint32_t*, the flattened LogUp trace (columns 0..3 written)
    uint64_t terminal;  // uint32_t*, 4 words
    uint32_t height;
    uint32_t _pad;
};
static_assert(sizeof(LogUpAccumulatorParams) == 32, "LogUpAccumulatorParams size");
static_assert(offsetof(LogUpAccumulatorParams, height) == 24, "LogUpAccumulatorParams.height");

}  // namespace slotproof
