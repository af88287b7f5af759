/* The language server through the C API: rwkv_lsp_server_run on one end of a socketpair, this
 * program speaking LSP (Content-Length framing, JSON-RPC) on the other, with the host's model
 * borrowed by the server. And a server stopped from another thread.
 *
 * usage: test_c_server MODEL.pth   (exit 77 = skipped: the model file is missing) */
#define _POSIX_C_SOURCE 200809L

#include "rwkv_lsp.h"

#include "c_check.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  rwkv_lsp_server* server;
  rwkv_lsp_status status;
  int32_t exit_code;
} run_ctx;

static void* run_server(void* arg) {
  run_ctx* ctx = arg;
  ctx->status = rwkv_lsp_server_run(ctx->server, &ctx->exit_code);
  return NULL;
}

static void send_message(int fd, const char* body) {
  char header[64];
  int n = snprintf(header, sizeof header, "Content-Length: %zu\r\n\r\n", strlen(body));
  CHECK(write(fd, header, (size_t)n) == n);
  CHECK(write(fd, body, strlen(body)) == (ssize_t)strlen(body));
}

/* Reads one message body (malloc'd), or NULL on timeout / end of stream. */
static char* read_message(int fd, int timeout_ms) {
  char header[1024];
  size_t used = 0;
  while (used + 1 < sizeof header) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return NULL;
    if (read(fd, header + used, 1) != 1) return NULL;
    ++used;
    header[used] = '\0';
    if (used >= 4 && strcmp(header + used - 4, "\r\n\r\n") == 0) break;
  }
  const char* cl = strstr(header, "Content-Length: ");
  if (!cl) return NULL;
  size_t length = (size_t)strtoul(cl + 16, NULL, 10);
  char* body = malloc(length + 1);
  size_t got = 0;
  while (got < length) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t r = read(fd, body + got, length - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  body[got] = '\0';
  if (got < length) {
    free(body);
    return NULL;
  }
  return body;
}

/* The response to request `id`, skipping notifications and server requests (kept nowhere). */
static char* response_to(int fd, int id, int timeout_ms) {
  char needle[32];
  snprintf(needle, sizeof needle, "\"id\":%d", id);
  for (;;) {
    char* m = read_message(fd, timeout_ms);
    if (!m) return NULL;
    if (strstr(m, needle) && !strstr(m, "\"method\"")) return m;
    free(m);
  }
}

static void test_lsp_session(rwkv_lsp_model* model) {
  int fds[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  rwkv_lsp_server_params sp = rwkv_lsp_server_default_params();
  sp.model = model;
  sp.settings_json = "{\"maxTokens\": 8, \"temperature\": 0}";
  run_ctx ctx = {NULL, -1000, -1};
  CHECK_STATUS(rwkv_lsp_server_create(&sp, fds[1], fds[1], &ctx.server), RWKV_LSP_OK);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, run_server, &ctx) == 0);

  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"processId\":null,"
                       "\"capabilities\":{\"general\":{\"positionEncodings\":[\"utf-8\"]}}}}");
  char* init = response_to(fds[0], 1, 20000);
  CHECK_CONTAINS(init, "inlineCompletionProvider");
  CHECK_CONTAINS(init, "\"positionEncoding\":\"utf-8\"");
  free(init);
  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":{"
                       "\"uri\":\"file:///p/a.c\",\"languageId\":\"c\",\"version\":1,"
                       "\"text\":\"int main(void) {\\n    return\"}}}");
  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":{"
                       "\"uri\":\"file:///p/a.c\",\"version\":2},\"contentChanges\":[{\"range\":{\"start\":"
                       "{\"line\":1,\"character\":10},\"end\":{\"line\":1,\"character\":10}},\"text\":\" 0\"}]}}");
  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"textDocument/inlineCompletion\",\"params\":{"
                       "\"textDocument\":{\"uri\":\"file:///p/a.c\"},\"position\":{\"line\":1,\"character\":12},"
                       "\"context\":{\"triggerKind\":1}}}");
  char* completion = response_to(fds[0], 2, 60000);
  CHECK_CONTAINS(completion, "\"result\"");
  free(completion);
  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"rwkv/status\",\"params\":{}}");
  char* status = response_to(fds[0], 3, 20000);
  CHECK_CONTAINS(status, "\"version\":\"7\""); /* the borrowed model serves */
  free(status);
  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"shutdown\"}");
  char* shutdown = response_to(fds[0], 4, 20000);
  CHECK_CONTAINS(shutdown, "\"result\":null");
  free(shutdown);
  send_message(fds[0], "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
  pthread_join(thread, NULL);
  CHECK_STATUS(ctx.status, RWKV_LSP_OK);
  CHECK(ctx.exit_code == 0);
  CHECK_STATUS(rwkv_lsp_server_run(ctx.server, NULL), RWKV_LSP_ERR_BUSY); /* once per server */
  rwkv_lsp_server_free(ctx.server);
  close(fds[0]);
  close(fds[1]);
}

static void test_stop_from_another_thread(void) {
  int fds[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  rwkv_lsp_server_params sp = rwkv_lsp_server_default_params();
  run_ctx ctx = {NULL, -1000, -1};
  CHECK_STATUS(rwkv_lsp_server_create(&sp, fds[1], fds[1], &ctx.server), RWKV_LSP_OK);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, run_server, &ctx) == 0);
  struct timespec t = {0, 50 * 1000000L};
  nanosleep(&t, NULL);
  CHECK_STATUS(rwkv_lsp_server_stop(ctx.server), RWKV_LSP_OK);
  pthread_join(thread, NULL);
  CHECK_STATUS(ctx.status, RWKV_LSP_OK);
  CHECK(ctx.exit_code == 1); /* no shutdown request came */
  rwkv_lsp_server_free(ctx.server);
  close(fds[0]);
  close(fds[1]);
}

static void test_bad_server_params(void) {
  rwkv_lsp_server* server = NULL;
  rwkv_lsp_server_params sp = rwkv_lsp_server_default_params();
  sp.settings_json = "{not json";
  CHECK_STATUS(rwkv_lsp_server_create(&sp, 0, 1, &server), RWKV_LSP_ERR_INVALID_ARGUMENT);
  sp.settings_json = "[1, 2]";
  CHECK_STATUS(rwkv_lsp_server_create(&sp, 0, 1, &server), RWKV_LSP_ERR_INVALID_ARGUMENT);
  sp.settings_json = "{\"maxTokens\": \"many\"}";
  CHECK_STATUS(rwkv_lsp_server_create(&sp, 0, 1, &server), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK_CONTAINS(rwkv_lsp_last_error(), "maxTokens");
  sp.settings_json = NULL;
  CHECK_STATUS(rwkv_lsp_server_create(&sp, -1, 1, &server), RWKV_LSP_ERR_INVALID_ARGUMENT);
  sp.struct_size = 4;
  CHECK_STATUS(rwkv_lsp_server_create(&sp, 0, 1, &server), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK(server == NULL);
  CHECK_STATUS(rwkv_lsp_server_run(NULL, NULL), RWKV_LSP_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(rwkv_lsp_server_stop(NULL), RWKV_LSP_ERR_INVALID_ARGUMENT);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL\n", argv[0]);
    return 2;
  }
  test_bad_server_params();
  test_stop_from_another_thread();
  if (access(argv[1], R_OK) != 0) {
    printf("skipped: %s not found (set RWKV_LSP_SHARED or put ../shared beside the repo)\n", argv[1]);
    return 77;
  }
  rwkv_lsp_model_params mp = rwkv_lsp_model_default_params();
  mp.path = argv[1];
  mp.vocab = "bytes";
  mp.threads = 2;
  rwkv_lsp_model* model = NULL;
  CHECK_STATUS(rwkv_lsp_model_load(&mp, &model), RWKV_LSP_OK);
  if (model) test_lsp_session(model);
  rwkv_lsp_model_free(model);
  return c_check_report();
}
