// Poseidon2 Merkle tree kernels, matching p3-merkle-tree's MerkleTreeMmcs<_, _,
// PaddingFreeSponge<Perm16, 16, 8, 8>, TruncatedPermutation<Perm16, 2, 8, 16>, 2, 8> for
// power-of-two heights:
//   layer 0:   digest[r] = sponge(row r of every tallest matrix, concatenated in commit order)
//   layer k+1: node[i]   = C(layer_k[2i], layer_k[2i+1]), then, when matrices of height
//              2^-(k+1) * max are committed too, node[i] = C(node[i], sponge(row i of those)).
// Digests are 8 words, stored row-major (digest r at words [8r, 8r+8)).
#include "field.cuh"
#include "params.cuh"
#include "poseidon2.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ void hash_leaves(const LeafHashParams& p, const Poseidon2Constants& c) {
    const uint32_t row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= p.num_rows) return;
    const MatrixDesc* mats = reinterpret_cast<const MatrixDesc*>(p.mats);

    uint32_t s[P2_WIDTH];
#pragma unroll
    for (int i = 0; i < P2_WIDTH; ++i) s[i] = 0;

    // Cursor over the concatenated row: matrix `mi`, column `col`.
    uint32_t mi = 0;
    uint32_t col = 0;
    uint32_t width = p.num_mats > 0 ? mats[0].width : 0;
    const uint32_t* data = p.num_mats > 0 ? reinterpret_cast<const uint32_t*>(mats[0].data) : nullptr;
    uint64_t stride = p.num_mats > 0 ? mats[0].col_stride : 0;

    // Overwrite-mode absorption, rate 8: permute after every full block and after a final
    // partial block; an input that ends on a block boundary gets no extra permutation.
    while (true) {
        uint32_t absorbed = 0;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            while (mi < p.num_mats && col >= width) {
                ++mi;
                col = 0;
                if (mi < p.num_mats) {
                    width = mats[mi].width;
                    data = reinterpret_cast<const uint32_t*>(mats[mi].data);
                    stride = mats[mi].col_stride;
                }
            }
            if (mi < p.num_mats) {
                s[i] = data[col * stride + row];
                ++col;
                absorbed = i + 1;
            }
        }
        if (absorbed == 0) break;
        poseidon2_permute<F>(s, c);
        if (absorbed < 8) break;
    }

    uint4* out = reinterpret_cast<uint4*>(p.out) + 2ull * row;
    out[0] = make_uint4(s[0], s[1], s[2], s[3]);
    out[1] = make_uint4(s[4], s[5], s[6], s[7]);
}

template <class F>
__device__ void compress_layer(const CompressParams& p, const Poseidon2Constants& c) {
    const uint32_t node = blockIdx.x * blockDim.x + threadIdx.x;
    if (node >= p.num_nodes) return;
    const uint4* kids = reinterpret_cast<const uint4*>(p.children) + 4ull * node;
    uint32_t s[P2_WIDTH];
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        const uint4 v = kids[q];
        s[4 * q] = v.x;
        s[4 * q + 1] = v.y;
        s[4 * q + 2] = v.z;
        s[4 * q + 3] = v.w;
    }
    poseidon2_permute<F>(s, c);
    if (p.inject != 0) {
        const uint4* inj = reinterpret_cast<const uint4*>(p.inject) + 2ull * node;
#pragma unroll
        for (int q = 0; q < 2; ++q) {
            const uint4 v = inj[q];
            s[8 + 4 * q] = v.x;
            s[8 + 4 * q + 1] = v.y;
            s[8 + 4 * q + 2] = v.z;
            s[8 + 4 * q + 3] = v.w;
        }
        poseidon2_permute<F>(s, c);
    }
    uint4* out = reinterpret_cast<uint4*>(p.out) + 2ull * node;
    out[0] = make_uint4(s[0], s[1], s[2], s[3]);
    out[1] = make_uint4(s[4], s[5], s[6], s[7]);
}

}  // namespace

// Opened rows for Merkle openings (field-independent: words are copied). One thread per
// (query, column); a warp covers consecutive columns of one query.
extern "C" __global__ void gather_rows(const GatherRowsParams p) {
    const uint32_t* data = reinterpret_cast<const uint32_t*>(p.data);
    const uint32_t* rows = reinterpret_cast<const uint32_t*>(p.rows);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint64_t total = static_cast<uint64_t>(p.num_queries) * p.width;
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const uint64_t q = i / p.width;
        const uint64_t c = i - q * p.width;
        out[i] = data[c * p.col_stride + rows[q]];
    }
}

#define SLOTPROOF_MERKLE(suffix, Field)                                                           \
    extern "C" __global__ void __launch_bounds__(128)                                             \
        merkle_hash_leaves_##suffix(const LeafHashParams p, const Poseidon2Constants c) {         \
        hash_leaves<Field>(p, c);                                                                 \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(128)                                             \
        merkle_compress_##suffix(const CompressParams p, const Poseidon2Constants c) {            \
        compress_layer<Field>(p, c);                                                              \
    }

SLOTPROOF_MERKLE(kb, KoalaBear)
SLOTPROOF_MERKLE(bb, BabyBear)
