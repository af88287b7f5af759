// rwkv-bench-matvec: one matrix-vector product (generation's operation) per weight type, timed on
// the CPU backend. The matrix holds uniform random values in [-1, 1], encoded in each type (rows in
// parallel: the K-quants' scale searches are slow).
//
// usage: rwkv-bench-matvec [ROWS [COLS [THREADS [REPEATS]]]]   (default 65536 1536 2 20)
// Prints one JSON object per line: type, ms per product (median), GB/s of weights streamed.
#include "kernels/backend.hpp"
#include "kernels/dtype.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace rwkv::kernels;

namespace {

std::vector<std::uint8_t> random_matrix(dtype t, std::int64_t rows, std::int64_t cols) {
  const std::int64_t rb = dtype_row_bytes(t, cols);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(rb * rows));
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 256), [&](const tbb::blocked_range<std::int64_t>& range) {
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (std::int64_t r = range.begin(); r < range.end(); ++r) {
      std::mt19937 rng(static_cast<std::uint32_t>(r));
      for (auto& v : row) v = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
      quantize_row(t, row.data(), bytes.data() + r * rb, cols);
    }
  });
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t rows = argc > 1 ? std::atoll(argv[1]) : 65536;
  const std::int64_t cols = argc > 2 ? std::atoll(argv[2]) : 1536;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 20;
  if (rows < 1 || cols < 256 || cols % 256 != 0 || threads < 1 || repeats < 1) {
    std::fprintf(stderr, "usage: rwkv-bench-matvec [ROWS [COLS (a multiple of 256) [THREADS [REPEATS]]]]\n");
    return 2;
  }
  backend_options o;
  o.threads = threads;
  o.precision = precision::fast;
  std::string err;
  auto be = create_backend(o, &err);
  if (!be) {
    std::fprintf(stderr, "rwkv-bench-matvec: %s\n", err.c_str());
    return 1;
  }
  for (dtype t : {dtype::bf16, dtype::q8_0, dtype::q5_1, dtype::q5_0, dtype::q4_1, dtype::q4_0, dtype::q6_k,
                  dtype::q5_k, dtype::q4_k}) {
    const auto bytes = random_matrix(t, rows, cols);
    const matrix m{t, rows, cols, bytes.data()};
    auto w = be->prepare(m);
    std::vector<float> x(static_cast<std::size_t>(cols), 0.1f), y(static_cast<std::size_t>(rows));
    be->matmul(*w, x.data(), cols, y.data(), rows, 1, activation::none, false);  // warm
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      be->matmul(*w, x.data(), cols, y.data(), rows, 1, activation::none, false);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + repeats / 2, ms.end());
    const double med = ms[static_cast<std::size_t>(repeats / 2)];
    std::printf("{\"type\":\"%s\",\"isa\":\"%s\",\"threads\":%d,\"ms\":%.3f,\"weights_gb_s\":%.2f}\n",
                std::string(dtype_name(t)).c_str(), be->info().isa.c_str(), threads, med,
                static_cast<double>(bytes.size()) / (med * 1e-3) / 1e9);
  }
  return 0;
}
