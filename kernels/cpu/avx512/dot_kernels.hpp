// The AVX-512 products that use the weights' native dot instruction ("fast" precision):
// bf16 weights with vdpbf16ps (matmul_bf16.cpp, built with -mavx512bf16) and q8/q5/q4 weights
// with vpdpbusd (matmul_int8.cpp, built with -mavx512vnni). Declared here for table_avx512.cpp,
// which dispatches to them only when the CPU has the instruction.
#pragma once

#include "kernel_table.hpp"

namespace rwkv::kernels::cpu::avx512 {

std::size_t bf16_act_bytes(bool gemm, std::int64_t T, std::int64_t K);
void bf16_convert(bool gemm, const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, void* out);
// gemv (few tokens) and gemm (many) give bit-identical results; they differ in loop order.
void bf16_gemv(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s);
void bf16_gemm(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s);

std::size_t int8_act_bytes(bool gemm, std::int64_t T, std::int64_t K);
void int8_convert(bool gemm, const float* x, std::int64_t ldx, std::int64_t T, std::int64_t K, void* out);
void int8_gemv(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s);
void int8_gemm(const cpu_weight& w, const act_view& a, std::int64_t T, std::int64_t r0, std::int64_t r1,
               const out_view& o, thread_scratch& s);

// A q8/q5/q4 row decoded to fp32 (exact precision), vectorized.
void int8_decode_row(const cpu_weight& w, std::int64_t r, float* out);

// A Q4_K/Q5_K/Q6_K row decoded to fp32, vectorized (dequant_kquant.cpp, AVX-512 F/BW/VL); any other
// ggml-layout row through the scalar reference decoder.
void kquant_decode_row(const cpu_weight& w, std::int64_t r, float* out);

}  // namespace rwkv::kernels::cpu::avx512
