// A small C++ file for the demo: scripts/demo asks rwkv-lsp to complete the last line.
#include <cstdio>
#include <vector>

// Sums the values of a vector.
int sum(const std::vector<int>& values) {
    int total = 0;
    for (int i = 0; i < (int)values.size(); 