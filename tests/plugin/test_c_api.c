/* The whole C API of rwkv_lsp.h from C11, as a host uses it: loading with progress, documents,
 * edits in UTF-16 positions, completion with a token callback that stops it, cancellation from
 * another thread, pre-feeding, save and restore, and the errors (bad path, bad positions, NULL
 * handles, wrong struct_size).
 *
 * usage: test_c_api MODEL.pth VOCAB TEMP_DIR   (exit 77 = skipped: the model file is missing) */
#define _POSIX_C_SOURCE 200809L

#include "rwkv_lsp.h"

#include "c_check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char* model_path;
static const char* vocab;
static const char* temp_dir;

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* ---- loading ---------------------------------------------------------------------------------- */

typedef struct {
  int calls;
  float last;
  int decreasing;
} progress_log;

static void on_progress(float fraction, void* user) {
  progress_log* log = user;
  if (log->calls > 0 && fraction < log->last) log->decreasing = 1;
  log->last = fraction;
  ++log->calls;
}

static rwkv_lsp_model* load_model(void) {
  rwkv_lsp_model_params p = rwkv_lsp_model_default_params();
  progress_log log = {0, 0.0f, 0};
  p.path = model_path;
  p.vocab = vocab;
  p.threads = 2;
  p.progress = on_progress;
  p.progress_user_data = &log;
  rwkv_lsp_model* model = NULL;
  CHECK_STATUS(rwkv_lsp_model_load(&p, &model), RWKV_LSP_OK);
  CHECK(model != NULL);
  CHECK(log.calls >= 2);
  CHECK(log.last == 1.0f);
  CHECK(!log.decreasing);
  return model;
}

static void test_versions_and_load_errors(void) {
  CHECK(rwkv_lsp_api_version() == RWKV_LSP_API_VERSION);
  CHECK(strlen(rwkv_lsp_version_string()) > 0);
  CHECK(strcmp(rwkv_lsp_status_name(RWKV_LSP_ERR_OUT_OF_RANGE), "out of range") == 0);

  rwkv_lsp_model* model = NULL;
  rwkv_lsp_model_params p = rwkv_lsp_model_default_params();
  CHECK(p.struct_size == sizeof p);
  CHECK_STATUS(rwkv_lsp_model_load(NULL, &model), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK(strlen(rwkv_lsp_last_error()) > 0);
  p.precision = "sloppy";
  CHECK_STATUS(rwkv_lsp_model_load(&p, &model), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK_CONTAINS(rwkv_lsp_last_error(), "precision");
  p.precision = NULL;

  p.path = "/nonexistent/dir/model.pth";
  CHECK_STATUS(rwkv_lsp_model_load(&p, &model), RWKV_LSP_ERR_IO);
  CHECK_CONTAINS(rwkv_lsp_last_error(), "/nonexistent/dir/model.pth");
  CHECK(model == NULL);

  p.path = model_path;
  CHECK_STATUS(rwkv_lsp_model_load(&p, NULL), RWKV_LSP_ERR_INVALID_ARGUMENT);
  p.struct_size = sizeof p - 8; /* a host built against another header */
  CHECK_STATUS(rwkv_lsp_model_load(&p, &model), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK_CONTAINS(rwkv_lsp_last_error(), "struct_size");
  p.struct_size = sizeof p;
  p.backend = "abacus";
  CHECK_STATUS(rwkv_lsp_model_load(&p, &model), RWKV_LSP_ERR_INVALID_ARGUMENT);
  p.backend = NULL;
  p.weight_type = "f7";
  CHECK_STATUS(rwkv_lsp_model_load(&p, &model), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK(model == NULL);

  /* The built-in model (path NULL), in builds that have one. */
  p = rwkv_lsp_model_default_params();
  p.threads = 2;
  rwkv_lsp_status builtin = rwkv_lsp_model_load(&p, &model);
  CHECK(builtin == RWKV_LSP_OK || builtin == RWKV_LSP_ERR_UNSUPPORTED);
  if (builtin == RWKV_LSP_OK) {
    rwkv_lsp_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_STATUS(rwkv_lsp_model_get_info(model, &info), RWKV_LSP_OK);
    CHECK(strcmp(info.tokenizer, "bytes") == 0);
    rwkv_lsp_model_free(model);
    model = NULL;
  }

  /* A successful call clears the thread's last error. */
  CHECK(rwkv_lsp_api_version() != 0);
  rwkv_lsp_model_free(NULL);
  rwkv_lsp_document_free(NULL);
  rwkv_lsp_completion_free(NULL);
  rwkv_lsp_server_free(NULL);
}

/* ---- documents and edits ---------------------------------------------------------------------- */

static rwkv_lsp_document* open_doc(rwkv_lsp_model* model, const char* text, int32_t encoding) {
  rwkv_lsp_document_params dp = rwkv_lsp_document_default_params();
  dp.uri = "file:///project/src/main.c";
  dp.language = "c";
  dp.position_encoding = encoding;
  dp.checkpoint_spacing = 16;
  rwkv_lsp_document* doc = NULL;
  CHECK_STATUS(rwkv_lsp_document_open(model, &dp, text, strlen(text), &doc), RWKV_LSP_OK);
  return doc;
}

static int text_is(const rwkv_lsp_document* doc, const char* expected) {
  size_t len = 0;
  const char* t = rwkv_lsp_document_text(doc, &len);
  return t != NULL && len == strlen(expected) && memcmp(t, expected, len) == 0;
}

static rwkv_lsp_range range_of(uint32_t l0, uint32_t c0, uint32_t l1, uint32_t c1) {
  rwkv_lsp_range r = {{l0, c0}, {l1, c1}};
  return r;
}

static void test_edits_and_positions(rwkv_lsp_model* model) {
  /* "é" is 2 UTF-8 bytes and 1 UTF-16 unit; the emoji 4 bytes and 2 UTF-16 units. */
  rwkv_lsp_document* doc = open_doc(model, "int caf\xc3\xa9 = 1; // \xf0\x9f\x99\x82\nint x", RWKV_LSP_POSITION_UTF16);
  rwkv_lsp_range r = range_of(0, 19, 0, 19); /* after the emoji: 16 + 1 (space) + 2 */
  CHECK_STATUS(rwkv_lsp_document_edit(doc, &r, "!", 1), RWKV_LSP_OK);
  CHECK(text_is(doc, "int caf\xc3\xa9 = 1; // \xf0\x9f\x99\x82!\nint x"));
  r = range_of(0, 4, 0, 8); /* replace "café" */
  CHECK_STATUS(rwkv_lsp_document_edit(doc, &r, "tea", 3), RWKV_LSP_OK);
  CHECK(text_is(doc, "int tea = 1; // \xf0\x9f\x99\x82!\nint x"));
  r = range_of(1, 5, 1, 5);
  CHECK_STATUS(rwkv_lsp_document_edit(doc, &r, " = 2;\n", 6), RWKV_LSP_OK);
  CHECK(text_is(doc, "int tea = 1; // \xf0\x9f\x99\x82!\nint x = 2;\n"));

  /* Bad positions change nothing. */
  r = range_of(7, 0, 7, 0);
  CHECK_STATUS(rwkv_lsp_document_edit(doc, &r, "x", 1), RWKV_LSP_ERR_OUT_OF_RANGE);
  CHECK_CONTAINS(rwkv_lsp_last_error(), "line 7");
  r = range_of(1, 40, 1, 40);
  CHECK_STATUS(rwkv_lsp_document_edit(doc, &r, "x", 1), RWKV_LSP_ERR_OUT_OF_RANGE);
  r = range_of(0, 17, 0, 17); /* between the halves of the emoji's surrogate pair */
  CHECK_STATUS(rwkv_lsp_document_edit(doc, &r, "x", 1), RWKV_LSP_ERR_OUT_OF_RANGE);
  r = range_of(1, 3, 1, 1);
  CHECK_STATUS(rwkv_lsp_document_edit(doc, &r, "x", 1), RWKV_LSP_ERR_OUT_OF_RANGE);
  CHECK(text_is(doc, "int tea = 1; // \xf0\x9f\x99\x82!\nint x = 2;\n"));
  CHECK_STATUS(rwkv_lsp_document_edit(NULL, &r, "x", 1), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(rwkv_lsp_document_edit(doc, NULL, NULL, 5), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK(rwkv_lsp_document_text(NULL, NULL) == NULL);

  /* A NULL range replaces the whole text. */
  CHECK_STATUS(rwkv_lsp_document_edit(doc, NULL, "x", 1), RWKV_LSP_OK);
  CHECK(text_is(doc, "x"));

  rwkv_lsp_document_params dp = rwkv_lsp_document_default_params();
  rwkv_lsp_document* other = NULL;
  CHECK_STATUS(rwkv_lsp_document_open(NULL, &dp, "", 0, &other), RWKV_LSP_ERR_INVALID_ARGUMENT);
  dp.struct_size = 3;
  CHECK_STATUS(rwkv_lsp_document_open(model, &dp, "", 0, &other), RWKV_LSP_ERR_INVALID_ARGUMENT);
  dp = rwkv_lsp_document_default_params();
  dp.position_encoding = 9;
  CHECK_STATUS(rwkv_lsp_document_open(model, &dp, "", 0, &other), RWKV_LSP_ERR_INVALID_ARGUMENT);
  dp.position_encoding = RWKV_LSP_POSITION_UTF8;
  dp.checkpoint_spacing = 0;
  CHECK_STATUS(rwkv_lsp_document_open(model, &dp, "", 0, &other), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK(other == NULL);
  rwkv_lsp_document_free(doc);
}

/* ---- completion ------------------------------------------------------------------------------- */

typedef struct {
  int calls;
  int stop_after;
  size_t bytes;
} token_log;

static int32_t on_token(uint32_t candidate, const char* text, size_t len, void* user) {
  token_log* log = user;
  (void)candidate;
  (void)text;
  log->bytes += len;
  return ++log->calls >= log->stop_after;
}

static const char* source = "#include <stdio.h>\n\nint main(void) {\n    int total = 0;\n    for (int i = 0; i < 10; ";

static rwkv_lsp_position end_of_source(void) {
  rwkv_lsp_position p = {4, (uint32_t)strlen("    for (int i = 0; i < 10; ")};
  return p;
}

static void test_completion(rwkv_lsp_model* model) {
  rwkv_lsp_document* doc = open_doc(model, source, RWKV_LSP_POSITION_UTF8);
  rwkv_lsp_completion_params cp = rwkv_lsp_completion_default_params();
  cp.max_tokens = 12;
  rwkv_lsp_completion* c = NULL;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, end_of_source(), &cp, &c), RWKV_LSP_OK);
  CHECK(c != NULL);
  for (uint32_t i = 0; i < rwkv_lsp_completion_count(c); ++i) {
    rwkv_lsp_completion_item item;
    CHECK_STATUS(rwkv_lsp_completion_get_item(c, i, &item), RWKV_LSP_OK);
    CHECK(item.text_len > 0 && strlen(item.text) == item.text_len);
    CHECK(item.range.start.line == 4 && item.range.start.character == end_of_source().character);
  }
  rwkv_lsp_completion_stats stats;
  CHECK_STATUS(rwkv_lsp_completion_get_stats(c, &stats), RWKV_LSP_OK);
  CHECK(stats.tokens_refed > 50); /* the whole text was fed */
  CHECK(stats.generated_tokens >= 1 && stats.generated_tokens <= 12);
  rwkv_lsp_completion_item item;
  CHECK_STATUS(rwkv_lsp_completion_get_item(c, 99, &item), RWKV_LSP_ERR_OUT_OF_RANGE);
  rwkv_lsp_completion_free(c);

  /* The token callback sees the text as it is generated and stops it. */
  token_log log = {0, 3, 0};
  cp.max_tokens = 40;
  cp.max_lines = 100;
  cp.on_token = on_token;
  cp.user_data = &log;
  c = NULL;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, end_of_source(), &cp, &c), RWKV_LSP_OK);
  CHECK(log.calls == 3);
  CHECK(log.bytes >= 3);
  CHECK_STATUS(rwkv_lsp_completion_get_stats(c, &stats), RWKV_LSP_OK);
  CHECK(stats.generated_tokens <= 5);
  CHECK(stats.tokens_refed <= 2); /* the state at the cursor was kept */
  rwkv_lsp_completion_free(c);

  /* Bad positions and parameters. */
  cp = rwkv_lsp_completion_default_params();
  rwkv_lsp_position past = {9, 0};
  c = NULL;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, past, &cp, &c), RWKV_LSP_ERR_OUT_OF_RANGE);
  past.line = 4;
  past.character = 200;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, past, &cp, &c), RWKV_LSP_ERR_OUT_OF_RANGE);
  CHECK(c == NULL);
  cp.max_tokens = 0;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, end_of_source(), &cp, &c), RWKV_LSP_ERR_INVALID_ARGUMENT);
  cp = rwkv_lsp_completion_default_params();
  cp.struct_size = 0;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, end_of_source(), &cp, &c), RWKV_LSP_ERR_INVALID_ARGUMENT);
  cp = rwkv_lsp_completion_default_params();
  CHECK_STATUS(rwkv_lsp_document_complete(NULL, end_of_source(), &cp, &c), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(rwkv_lsp_document_complete(doc, end_of_source(), &cp, NULL), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK(rwkv_lsp_completion_count(NULL) == 0);

  /* Mid-line, before real code, there is nothing to suggest. */
  rwkv_lsp_position mid = {2, 4};
  CHECK_STATUS(rwkv_lsp_document_complete(doc, mid, &cp, &c), RWKV_LSP_OK);
  CHECK(rwkv_lsp_completion_count(c) == 0);
  rwkv_lsp_completion_free(c);
  rwkv_lsp_document_free(doc);
}

/* ---- cancellation from another thread --------------------------------------------------------- */

typedef struct {
  rwkv_lsp_document* doc;
  atomic_int tokens;
  atomic_int cancelled_by_thread;
} cancel_ctx;

static int32_t slow_token(uint32_t candidate, const char* text, size_t len, void* user) {
  cancel_ctx* ctx = user;
  (void)candidate;
  (void)text;
  (void)len;
  atomic_fetch_add(&ctx->tokens, 1);
  sleep_ms(2); /* a slow generation, so the other thread surely finds it running */
  return 0;
}

static void* canceller(void* arg) {
  cancel_ctx* ctx = arg;
  for (int waited = 0; atomic_load(&ctx->tokens) < 3 && waited < 20000; ++waited) sleep_ms(1);
  if (rwkv_lsp_document_cancel(ctx->doc) == RWKV_LSP_OK) atomic_store(&ctx->cancelled_by_thread, 1);
  return NULL;
}

static void test_cancel_from_another_thread(rwkv_lsp_model* model) {
  rwkv_lsp_document* doc = open_doc(model, "static const char* words[] = {\n", RWKV_LSP_POSITION_UTF8);
  /* Cancelling while nothing runs does not affect the next call. */
  CHECK_STATUS(rwkv_lsp_document_cancel(doc), RWKV_LSP_OK);
  CHECK_STATUS(rwkv_lsp_document_cancel(NULL), RWKV_LSP_ERR_INVALID_ARGUMENT);

  cancel_ctx ctx;
  ctx.doc = doc;
  atomic_init(&ctx.tokens, 0);
  atomic_init(&ctx.cancelled_by_thread, 0);
  rwkv_lsp_completion_params cp = rwkv_lsp_completion_default_params();
  cp.max_tokens = 100000; /* would take minutes: only the cancel ends it */
  cp.max_lines = 100000;
  cp.time_budget_ms = 0;
  cp.on_token = slow_token;
  cp.user_data = &ctx;
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, canceller, &ctx) == 0);
  rwkv_lsp_position end = {1, 0};
  rwkv_lsp_completion* c = NULL;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, end, &cp, &c), RWKV_LSP_CANCELLED);
  pthread_join(thread, NULL);
  CHECK(atomic_load(&ctx.cancelled_by_thread) == 1);
  CHECK(atomic_load(&ctx.tokens) >= 3 && atomic_load(&ctx.tokens) < 5000);
  CHECK(c != NULL); /* what was generated before the cancel */
  rwkv_lsp_completion_free(c);

  /* The document works on after a cancel. */
  cp.on_token = NULL;
  cp.max_tokens = 4;
  c = NULL;
  CHECK_STATUS(rwkv_lsp_document_complete(doc, end, &cp, &c), RWKV_LSP_OK);
  rwkv_lsp_completion_free(c);
  rwkv_lsp_document_free(doc);
}

/* ---- pre-feeding, save and restore ------------------------------------------------------------ */

static char* complete_text(rwkv_lsp_document* doc, rwkv_lsp_position at, int64_t* tokens_refed) {
  rwkv_lsp_completion_params cp = rwkv_lsp_completion_default_params();
  cp.max_tokens = 16;
  cp.time_budget_ms = 0;
  rwkv_lsp_completion* c = NULL;
  rwkv_lsp_status s = rwkv_lsp_document_complete(doc, at, &cp, &c);
  CHECK(s == RWKV_LSP_OK);
  char* out = calloc(1, 1);
  rwkv_lsp_completion_item item;
  if (s == RWKV_LSP_OK && rwkv_lsp_completion_count(c) > 0 && rwkv_lsp_completion_get_item(c, 0, &item) == RWKV_LSP_OK) {
    free(out);
    out = malloc(item.text_len + 1);
    memcpy(out, item.text, item.text_len + 1);
  }
  rwkv_lsp_completion_stats stats;
  if (tokens_refed && rwkv_lsp_completion_get_stats(c, &stats) == RWKV_LSP_OK) *tokens_refed = stats.tokens_refed;
  rwkv_lsp_completion_free(c);
  return out;
}

static void test_prefeed_save_restore(rwkv_lsp_model* model) {
  rwkv_lsp_document* doc = open_doc(model, source, RWKV_LSP_POSITION_UTF8);
  int64_t remaining = -1;
  CHECK_STATUS(rwkv_lsp_document_prefeed(doc, 10, &remaining), RWKV_LSP_OK);
  CHECK(remaining > 0);
  CHECK_STATUS(rwkv_lsp_document_prefeed(doc, 1 << 20, &remaining), RWKV_LSP_OK);
  CHECK(remaining == 0);
  CHECK_STATUS(rwkv_lsp_document_prefeed(doc, -1, &remaining), RWKV_LSP_ERR_INVALID_ARGUMENT);
  int64_t refed = -1;
  char* before = complete_text(doc, end_of_source(), &refed);
  CHECK(refed > 0 && refed < 20); /* from the last checkpoint on */

  rwkv_lsp_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  CHECK_STATUS(rwkv_lsp_model_get_info(model, &info), RWKV_LSP_OK);
  CHECK(info.checkpoint_bytes > 0);
  CHECK(strcmp(info.architecture, "7") == 0);
  CHECK(info.n_layer > 0 && info.n_vocab >= 256);
  info.struct_size = 1;
  CHECK_STATUS(rwkv_lsp_model_get_info(model, &info), RWKV_LSP_ERR_INVALID_ARGUMENT);

  char path[4096];
  snprintf(path, sizeof path, "%s/main.c.rwkvsession", temp_dir);
  CHECK_STATUS(rwkv_lsp_document_save(doc, path), RWKV_LSP_OK);
  CHECK_STATUS(rwkv_lsp_document_save(doc, "/nonexistent/dir/x.session"), RWKV_LSP_ERR_IO);

  rwkv_lsp_document_params dp = rwkv_lsp_document_default_params();
  dp.uri = "file:///project/src/main.c";
  dp.language = "c";
  dp.checkpoint_spacing = 16;
  rwkv_lsp_document* restored = NULL;
  CHECK_STATUS(rwkv_lsp_document_restore(model, &dp, path, NULL, 0, &restored), RWKV_LSP_OK);
  CHECK(text_is(restored, source));
  refed = -1;
  char* after = complete_text(restored, end_of_source(), &refed);
  CHECK(strcmp(before, after) == 0);
  CHECK(refed == 0); /* nothing re-fed: the states came from the file */
  free(after);
  rwkv_lsp_document_free(restored);

  /* Restored for a text that changed since: the difference is applied as an edit. */
  restored = NULL;
  const char* changed = "#include <stdio.h>\n\nint main(void) {\n    int sum = 0;\n    for (int i = 0; i < 10; ";
  CHECK_STATUS(rwkv_lsp_document_restore(model, &dp, path, changed, strlen(changed), &restored), RWKV_LSP_OK);
  CHECK(text_is(restored, changed));
  rwkv_lsp_document* fresh = open_doc(model, changed, RWKV_LSP_POSITION_UTF8);
  char* a = complete_text(restored, end_of_source(), NULL);
  char* b = complete_text(fresh, end_of_source(), NULL);
  CHECK(strcmp(a, b) == 0);
  free(a);
  free(b);
  rwkv_lsp_document_free(fresh);
  rwkv_lsp_document_free(restored);

  /* Another file, a missing or a damaged file. */
  restored = NULL;
  dp.uri = "file:///project/src/other.c";
  CHECK_STATUS(rwkv_lsp_document_restore(model, &dp, path, NULL, 0, &restored), RWKV_LSP_ERR_STATE_MISMATCH);
  dp.uri = "file:///project/src/main.c";
  CHECK_STATUS(rwkv_lsp_document_restore(model, &dp, "/nonexistent/x.session", NULL, 0, &restored), RWKV_LSP_ERR_IO);
  FILE* f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (f) {
    fseek(f, 200, SEEK_SET);
    fputc('~', f);
    fclose(f);
  }
  CHECK_STATUS(rwkv_lsp_document_restore(model, &dp, path, NULL, 0, &restored), RWKV_LSP_ERR_BAD_FORMAT);
  CHECK(restored == NULL);
  CHECK_STATUS(rwkv_lsp_document_save(NULL, path), RWKV_LSP_ERR_INVALID_ARGUMENT);
  unlink(path);
  free(before);
  rwkv_lsp_document_free(doc);
}

/* ---- two documents of one model on two threads ------------------------------------------------ */

static void* complete_on_thread(void* arg) {
  rwkv_lsp_document* doc = arg;
  char* t = complete_text(doc, end_of_source(), NULL);
  return t;
}

static void test_documents_on_two_threads(rwkv_lsp_model* model) {
  rwkv_lsp_document* a = open_doc(model, source, RWKV_LSP_POSITION_UTF8);
  rwkv_lsp_document* b = open_doc(model, source, RWKV_LSP_POSITION_UTF8);
  pthread_t ta, tb;
  void* ra = NULL;
  void* rb = NULL;
  CHECK(pthread_create(&ta, NULL, complete_on_thread, a) == 0);
  CHECK(pthread_create(&tb, NULL, complete_on_thread, b) == 0);
  pthread_join(ta, &ra);
  pthread_join(tb, &rb);
  CHECK(ra != NULL && rb != NULL && strcmp(ra, rb) == 0);
  free(ra);
  free(rb);
  rwkv_lsp_document_free(a);
  rwkv_lsp_document_free(b);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL VOCAB TEMP_DIR\n", argv[0]);
    return 2;
  }
  model_path = argv[1];
  vocab = argv[2];
  temp_dir = argv[3];
  if (access(model_path, R_OK) != 0) {
    printf("skipped: %s not found (set RWKV_LSP_SHARED or put ../shared beside the repo)\n", model_path);
    return 77;
  }
  test_versions_and_load_errors();
  rwkv_lsp_model* model = load_model();
  if (model) {
    test_edits_and_positions(model);
    test_completion(model);
    test_cancel_from_another_thread(model);
    test_prefeed_save_restore(model);
    test_documents_on_two_threads(model);
    /* Documents keep the weights alive: the model handle may go first. */
    rwkv_lsp_document* doc = open_doc(model, "int x", RWKV_LSP_POSITION_UTF8);
    rwkv_lsp_model_free(model);
    rwkv_lsp_position end = {0, 5};
    char* t = complete_text(doc, end, NULL);
    free(t);
    rwkv_lsp_document_free(doc);
  }
  return c_check_report();
}
