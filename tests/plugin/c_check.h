/* A few assertion macros for the C tests of rwkv_lsp.h: they count, print what failed, and end
 * with the "N passed, N failed" line ctest logs show. */
#ifndef RWKV_LSP_C_CHECK_H
#define RWKV_LSP_C_CHECK_H

#include <stdio.h>
#include <string.h>

/* A program that reaches the library through dlsym defines these before including this file. */
#ifndef C_CHECK_LAST_ERROR
#define C_CHECK_LAST_ERROR() rwkv_lsp_last_error()
#define C_CHECK_STATUS_NAME(s) rwkv_lsp_status_name(s)
#endif

static int c_check_passed = 0;
static int c_check_failed = 0;

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (cond) {                                                                       \
      ++c_check_passed;                                                               \
    } else {                                                                          \
      ++c_check_failed;                                                               \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);       \
    }                                                                                 \
  } while (0)

/* A call that must return `expected`; on a mismatch prints the status and the last error. */
#define CHECK_STATUS(call, expected)                                                              \
  do {                                                                                            \
    rwkv_lsp_status check_status_ = (call);                                                       \
    if (check_status_ == (expected)) {                                                            \
      ++c_check_passed;                                                                           \
    } else {                                                                                      \
      ++c_check_failed;                                                                           \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s; last error: %s\n", __FILE__,      \
              __LINE__, #call, (int)check_status_, C_CHECK_STATUS_NAME(check_status_), #expected, \
              C_CHECK_LAST_ERROR());                                                             \
    }                                                                                             \
  } while (0)

#define CHECK_CONTAINS(haystack, needle) CHECK((haystack) != NULL && strstr((haystack), (needle)) != NULL)

static int c_check_report(void) {
  printf("%d passed, %d failed\n", c_check_passed, c_check_failed);
  return c_check_failed == 0 ? 0 : 1;
}

#endif
