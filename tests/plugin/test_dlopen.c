/* librwkv-lsp.so loaded as a host loads a plugin: dlopen, dlsym, calls through function pointers
 * (no link-time dependency on the library), and no internal C++ symbol reachable.
 *
 * usage: test_dlopen LIBRARY.so MODEL.pth */
#define _POSIX_C_SOURCE 200809L

#include "rwkv_lsp.h"

/* Messages of failed checks come through the looked-up function too. */
static const char* (*looked_up_last_error)(void);
static const char* no_error(void) { return "(rwkv_lsp_last_error not found)"; }
#define C_CHECK_LAST_ERROR() (looked_up_last_error ? looked_up_last_error() : no_error())
#define C_CHECK_STATUS_NAME(s) ""

#include "c_check.h"

#include <dlfcn.h>
#include <unistd.h>

typedef uint32_t (*api_version_fn)(void);
typedef rwkv_lsp_model_params (*model_default_params_fn)(void);
typedef rwkv_lsp_status (*model_load_fn)(const rwkv_lsp_model_params*, rwkv_lsp_model**);
typedef void (*model_free_fn)(rwkv_lsp_model*);
typedef rwkv_lsp_document_params (*document_default_params_fn)(void);
typedef rwkv_lsp_status (*document_open_fn)(rwkv_lsp_model*, const rwkv_lsp_document_params*, const char*, size_t,
                                            rwkv_lsp_document**);
typedef void (*document_free_fn)(rwkv_lsp_document*);
typedef rwkv_lsp_completion_params (*completion_default_params_fn)(void);
typedef rwkv_lsp_status (*document_complete_fn)(rwkv_lsp_document*, rwkv_lsp_position, const rwkv_lsp_completion_params*,
                                                rwkv_lsp_completion**);
typedef void (*completion_free_fn)(rwkv_lsp_completion*);
typedef const char* (*last_error_fn)(void);

/* Function pointers from dlsym: POSIX guarantees the conversion, ISO C does not, hence the memcpy. */
static void* sym(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (!p) fprintf(stderr, "dlsym(%s): %s\n", name, dlerror());
  CHECK(p != NULL);
  return p;
}
#define LOOKUP(type, var, name) \
  type var;                     \
  do {                          \
    void* p_ = sym(lib, name);  \
    memcpy(&var, &p_, sizeof var); \
  } while (0)

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LIBRARY MODEL\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen(%s): %s\n", argv[1], dlerror());
    return 1;
  }
  LOOKUP(api_version_fn, api_version, "rwkv_lsp_api_version");
  LOOKUP(last_error_fn, last_error, "rwkv_lsp_last_error");
  looked_up_last_error = last_error;
  CHECK(api_version && api_version() >> 16 == RWKV_LSP_API_VERSION_MAJOR);
  CHECK(api_version && (api_version() & 0xffff) >= RWKV_LSP_API_VERSION_MINOR);

  /* Internals stay inside: the engine's C++ entry points and the standard library's instantiations. */
  CHECK(dlsym(lib, "_ZN4rwkv6engine5model4loadERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS0_12load_optionsE") == NULL);
  CHECK(dlsym(lib, "_ZN4rwkv3lsp10run_serverERNS0_9transportERNS0_18completion_serviceERKNS0_14server_optionsE") == NULL);
  CHECK(dlsym(lib, "_ZN4rwkv6plugin14set_last_errorENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE") == NULL);

  if (access(argv[2], R_OK) != 0) {
    printf("skipped the model part: %s not found\n", argv[2]);
  } else {
    LOOKUP(model_default_params_fn, model_default_params, "rwkv_lsp_model_default_params");
    LOOKUP(model_load_fn, model_load, "rwkv_lsp_model_load");
    LOOKUP(model_free_fn, model_free, "rwkv_lsp_model_free");
    LOOKUP(document_default_params_fn, document_default_params, "rwkv_lsp_document_default_params");
    LOOKUP(document_open_fn, document_open, "rwkv_lsp_document_open");
    LOOKUP(document_free_fn, document_free, "rwkv_lsp_document_free");
    LOOKUP(completion_default_params_fn, completion_default_params, "rwkv_lsp_completion_default_params");
    LOOKUP(document_complete_fn, document_complete, "rwkv_lsp_document_complete");
    LOOKUP(completion_free_fn, completion_free, "rwkv_lsp_completion_free");

    rwkv_lsp_model_params mp = model_default_params();
    mp.path = argv[2];
    mp.vocab = "bytes";
    mp.threads = 1;
    rwkv_lsp_model* model = NULL;
    CHECK_STATUS(model_load(&mp, &model), RWKV_LSP_OK);
    rwkv_lsp_document_params dp = document_default_params();
    rwkv_lsp_document* doc = NULL;
    const char* text = "def add(a, b):\n    return";
    CHECK_STATUS(document_open(model, &dp, text, strlen(text), &doc), RWKV_LSP_OK);
    rwkv_lsp_completion_params cp = completion_default_params();
    cp.max_tokens = 6;
    rwkv_lsp_position at = {1, 10};
    rwkv_lsp_completion* c = NULL;
    CHECK_STATUS(document_complete(doc, at, &cp, &c), RWKV_LSP_OK);
    completion_free(c);
    /* An error travels back through the thread-local message. */
    at.line = 5;
    CHECK_STATUS(document_complete(doc, at, &cp, &c), RWKV_LSP_ERR_OUT_OF_RANGE);
    CHECK(strlen(last_error()) > 0);
    document_free(doc);
    model_free(model);
  }
  CHECK(dlclose(lib) == 0);
  return c_check_report();
}
